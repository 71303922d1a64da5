from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField

from .validators import validate_email_length, validate_person_name


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> "User":
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who can log in. Email is the login; the business identity is a Distributor."""

    email = models.EmailField("email address", unique=True, validators=[validate_email_length])
    name = models.CharField("full name", max_length=150, validators=[validate_person_name])
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name.split(" ")[0] if self.name else self.email

    @property
    def has_staff_powers(self) -> bool:
        """For templates: ``accounts.access.has_staff_powers`` (a session that passed MFA)."""
        from .access import has_staff_powers

        return has_staff_powers(self)

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()


class Enrollment(models.Model):
    """What a person asked for at sign-up, kept as the record of their consent.

    The Distributor is created from it once the email address is verified.
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="enrollment")
    sponsor = models.ForeignKey("genealogy.Distributor", on_delete=models.PROTECT, related_name="+")
    country = models.CharField(max_length=2)
    phone = PhoneNumberField(max_length=32, blank=True)  # E.164
    policies_version = models.CharField(max_length=32)
    accepted_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Enrollment of {self.user_id} under {self.sponsor_id}"
