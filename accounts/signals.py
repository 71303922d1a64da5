from django.db.models.signals import post_save
from django.dispatch import receiver

from core.fragments import new_names_generation

from .models import User

NAME_FIELDS = frozenset({"name", "email"})


@receiver(post_save, sender=User)
def retire_fragments_showing_names(sender, instance, created, update_fields, **kwargs) -> None:
    """A saved name or email may appear in cached fragments (statements name their sources).
    Saves that name their fields without either (a login's ``last_login``) change nothing."""
    if created or (update_fields is not None and not NAME_FIELDS & set(update_fields)):
        return
    new_names_generation()
