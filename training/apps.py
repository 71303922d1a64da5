from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Training"

    def ready(self) -> None:
        from orders.hooks import register_sale_gate

        from .services import compliance_training_refusal, training_before_first_retail_sale

        # The compliance training before a first retail sale: orders asks, never imports us.
        register_sale_gate(
            "training.compliance",
            pending=training_before_first_retail_sale,
            refusal=compliance_training_refusal,
        )
