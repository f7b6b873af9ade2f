"""use_auth_user_model_setting: one field's target becomes settings.AUTH_USER_MODEL."""

from __future__ import annotations

import textwrap

import pytest

from tenantfix.codemod import run_codemod

NAME = "use_auth_user_model_setting"


def transform(before, model="Order", field="customer"):
    return run_codemod(NAME, textwrap.dedent(before), {"model": model, "field": field})


def check_transformed(before, after, **args):
    result = transform(before, **args)
    assert (result.error, result.skipped) == (None, None)
    assert result.code == textwrap.dedent(after)
    compile(result.code, "<after>", "exec")
    again = run_codemod(NAME, result.code, {"model": "Order", "field": "customer", **args})
    assert (again.changed, again.code) == (False, result.code)  # idempotent


def check_noop(before, **args):
    result = transform(before, **args)
    assert (result.changed, result.error, result.skipped) == (False, None, None)
    assert result.code == textwrap.dedent(before)
    return result


def test_string_target_positional():
    check_transformed(
        """\
        from django.db import models


        class Order(models.Model):
            customer = models.ForeignKey('auth.User', on_delete=models.CASCADE)  # buyer
            note = models.CharField(max_length=10, default='auth.User')
        """,
        """\
        from django.db import models
        from django.conf import settings


        class Order(models.Model):
            customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)  # buyer
            note = models.CharField(max_length=10, default='auth.User')
        """,
    )


def test_to_keyword_multiline_with_comments_and_trailing_comma():
    check_transformed(
        """\
        from django.conf import settings
        from django.db import models


        class Order(models.Model):
            customer = models.ForeignKey(
                on_delete=models.CASCADE,
                # the person who ordered
                to="users.User",  # hard-coded
            )
        """,
        """\
        from django.conf import settings
        from django.db import models


        class Order(models.Model):
            customer = models.ForeignKey(
                on_delete=models.CASCADE,
                # the person who ordered
                to=settings.AUTH_USER_MODEL,  # hard-coded
            )
        """,
    )


def test_imported_contrib_user_removed_other_names_kept():
    check_transformed(
        """\
        from django.contrib.auth.models import Group, User  # auth models
        from django.db import models


        class Order(models.Model):
            customer = models.ForeignKey(User, on_delete=models.CASCADE)
            groups = models.ManyToManyField(Group)
        """,
        """\
        from django.contrib.auth.models import Group  # auth models
        from django.db import models
        from django.conf import settings


        class Order(models.Model):
            customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
            groups = models.ManyToManyField(Group)
        """,
    )


def test_import_still_used_elsewhere_is_kept():
    check_transformed(
        """\
        from django.db import models
        from users.models import User


        class Order(models.Model):
            customer = models.OneToOneField(User, on_delete=models.CASCADE)

            def owner(self):
                return User.objects.first()
        """,
        """\
        from django.db import models
        from users.models import User
        from django.conf import settings


        class Order(models.Model):
            customer = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)

            def owner(self):
                return User.objects.first()
        """,
    )


def test_unused_import_that_was_unused_before_is_left_alone():
    check_transformed(
        """\
        import os
        from django.db import models
        from users.models import User


        class Order(models.Model):
            customer = models.ForeignKey(User, on_delete=models.CASCADE)
        """,
        """\
        import os
        from django.db import models
        from django.conf import settings


        class Order(models.Model):
            customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
        """,
    )


def test_get_user_model_call_and_its_import():
    check_transformed(
        """\
        from django.contrib.auth import get_user_model
        from django.db import models


        class Order(models.Model):
            customer = models.ForeignKey(get_user_model(), on_delete=models.CASCADE)
        """,
        """\
        from django.db import models
        from django.conf import settings


        class Order(models.Model):
            customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
        """,
    )


def test_module_attribute_and_relative_import():
    check_transformed(
        """\
        from django.db import models

        from ..users import models as user_models


        class Order(models.Model):
            customer: models.ForeignKey = models.ForeignKey(user_models.User, models.CASCADE)
        """,
        """\
        from django.db import models
        from django.conf import settings


        class Order(models.Model):
            customer: models.ForeignKey = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE)
        """,
    )


def test_aliased_settings_import_is_reused():
    check_transformed(
        """\
        from django.conf import settings as dj
        from django.db import models


        class Order(models.Model):
            customer = models.ForeignKey('users.User', models.CASCADE)
        """,
        """\
        from django.conf import settings as dj
        from django.db import models


        class Order(models.Model):
            customer = models.ForeignKey(dj.AUTH_USER_MODEL, models.CASCADE)
        """,
    )


def test_only_the_named_field_of_the_named_model_changes():
    check_transformed(
        """\
        from django.db import models


        class Invoice(models.Model):
            customer = models.ForeignKey('auth.User', models.CASCADE)


        class Order(models.Model):
            customer = models.ForeignKey('auth.User', models.CASCADE)
            approver = models.ForeignKey('auth.User', models.CASCADE, related_name='+')

            def customer_(self):
                customer = models.ForeignKey('auth.User', models.CASCADE)
                return customer
        """,
        """\
        from django.db import models
        from django.conf import settings


        class Invoice(models.Model):
            customer = models.ForeignKey('auth.User', models.CASCADE)


        class Order(models.Model):
            customer = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE)
            approver = models.ForeignKey('auth.User', models.CASCADE, related_name='+')

            def customer_(self):
                customer = models.ForeignKey('auth.User', models.CASCADE)
                return customer
        """,
    )


def test_noop_already_setting():
    check_noop(
        """\
        from django.conf import settings
        from django.db import models


        class Order(models.Model):
            customer = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE)
        """
    )


@pytest.mark.parametrize(
    "source, warning",
    [
        pytest.param(
            """\
            from django.db import models


            class Order(models.Model):
                customer = models.ForeignKey('self', models.CASCADE)
            """,
            "not a plain model reference",
            id="self",
        ),
        pytest.param(
            """\
            from django.db import models


            class Order(models.Model):
                customer = models.ForeignKey(pick_model('x'), models.CASCADE)
            """,
            "not a plain model reference",
            id="computed-target",
        ),
        pytest.param(
            """\
            from django.db import models


            class Order(models.Model):
                buyer = models.ForeignKey('auth.User', models.CASCADE)
            """,
            "no relation field Order.customer",
            id="field-not-found",
        ),
        pytest.param(
            """\
            from django.db import models


            class Order(models.Model):
                customer = models.CharField('auth.User', max_length=3)
            """,
            "no relation field Order.customer",
            id="not-a-relation",
        ),
    ],
)
def test_noop_warns_when_it_cannot_tell(source, warning):
    result = check_noop(source)
    assert len(result.warnings) == 1
    assert warning in result.warnings[0]


def test_skips_when_settings_is_bound_to_something_else():
    source = """\
        from django.db import models
        from proj import settings


        class Order(models.Model):
            customer = models.ForeignKey('auth.User', models.CASCADE)
        """
    result = transform(source)
    assert result.changed is False
    assert result.skipped is not None and "settings" in result.skipped
    assert result.code == textwrap.dedent(source)
