"""Database guards for the ledger, and the beat schedules of the monthly run and projections.

On PostgreSQL, triggers make closed periods immutable whatever code or SQL touches them:
UPDATE and DELETE are refused on the results and lines of a final run, on a final run itself,
on a closed period (except closed → paid with its export fields), on the clawbacks and
adjustments of a closed period (INSERT too), and on a plan version a run has used. TRUNCATE
stays possible (test databases are flushed with it). SQLite (`make run`) skips the triggers.
"""

from django.conf import settings
from django.db import migrations

GUARDS_SQL = """
CREATE FUNCTION commissions_refuse_final_run_rows() RETURNS trigger AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM commissions_commissionrun r
        WHERE r.is_final AND r.id IN (SELECT DISTINCT run_id FROM old_rows)
    ) THEN
        RAISE EXCEPTION '% on % refused: the period is closed and its ledger is immutable',
            TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER commissions_result_final_update AFTER UPDATE ON commissions_distributorresult
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION commissions_refuse_final_run_rows();
CREATE TRIGGER commissions_result_final_delete AFTER DELETE ON commissions_distributorresult
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION commissions_refuse_final_run_rows();
CREATE TRIGGER commissions_line_final_update AFTER UPDATE ON commissions_commissionline
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION commissions_refuse_final_run_rows();
CREATE TRIGGER commissions_line_final_delete AFTER DELETE ON commissions_commissionline
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION commissions_refuse_final_run_rows();

CREATE FUNCTION commissions_refuse_final_run() RETURNS trigger AS $$
BEGIN
    IF OLD.is_final THEN
        RAISE EXCEPTION 'run % is final (its period is closed): % refused', OLD.id, TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER commissions_run_final BEFORE UPDATE OR DELETE ON commissions_commissionrun
    FOR EACH ROW EXECUTE FUNCTION commissions_refuse_final_run();

CREATE FUNCTION commissions_refuse_closed_period_change() RETURNS trigger AS $$
BEGIN
    IF OLD.status IN ('closed', 'paid') THEN
        IF TG_OP = 'DELETE'
            OR NEW.current_run_id IS DISTINCT FROM OLD.current_run_id
            OR NEW.month <> OLD.month
            OR NEW.closed_at IS DISTINCT FROM OLD.closed_at
            OR NEW.status NOT IN ('closed', 'paid')
            OR (OLD.status = 'paid' AND (NEW.status <> 'paid'
                OR NEW.export_sha256 IS DISTINCT FROM OLD.export_sha256)) THEN
            RAISE EXCEPTION 'period % is %: % refused', OLD.month, OLD.status, TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER commissions_period_closed BEFORE UPDATE OR DELETE ON commissions_commissionperiod
    FOR EACH ROW EXECUTE FUNCTION commissions_refuse_closed_period_change();

CREATE FUNCTION commissions_refuse_closed_period_rows() RETURNS trigger AS $$
DECLARE
    period_status text;
BEGIN
    SELECT status INTO period_status FROM commissions_commissionperiod
        WHERE id = CASE WHEN TG_OP = 'INSERT' THEN NEW.period_id ELSE OLD.period_id END;
    IF period_status IN ('closed', 'paid')
        OR (TG_OP = 'UPDATE' AND NEW.period_id <> OLD.period_id AND EXISTS (
            SELECT 1 FROM commissions_commissionperiod
            WHERE id = NEW.period_id AND status IN ('closed', 'paid'))) THEN
        RAISE EXCEPTION '% on % refused: the period is closed', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER commissions_clawback_closed BEFORE INSERT OR UPDATE OR DELETE
    ON commissions_clawback
    FOR EACH ROW EXECUTE FUNCTION commissions_refuse_closed_period_rows();
CREATE TRIGGER commissions_adjustment_closed BEFORE INSERT OR UPDATE OR DELETE
    ON commissions_adjustment
    FOR EACH ROW EXECUTE FUNCTION commissions_refuse_closed_period_rows();

CREATE FUNCTION commissions_refuse_used_plan_version() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM commissions_commissionrun WHERE plan_version_id = OLD.id) THEN
        RAISE EXCEPTION 'plan version % was used by a run and cannot change: create a new version',
            OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER commissions_plan_version_used BEFORE UPDATE OR DELETE
    ON commissions_planversion
    FOR EACH ROW EXECUTE FUNCTION commissions_refuse_used_plan_version();
"""

DROP_GUARDS_SQL = """
DROP TRIGGER IF EXISTS commissions_result_final_update ON commissions_distributorresult;
DROP TRIGGER IF EXISTS commissions_result_final_delete ON commissions_distributorresult;
DROP TRIGGER IF EXISTS commissions_line_final_update ON commissions_commissionline;
DROP TRIGGER IF EXISTS commissions_line_final_delete ON commissions_commissionline;
DROP FUNCTION IF EXISTS commissions_refuse_final_run_rows();
DROP TRIGGER IF EXISTS commissions_run_final ON commissions_commissionrun;
DROP FUNCTION IF EXISTS commissions_refuse_final_run();
DROP TRIGGER IF EXISTS commissions_period_closed ON commissions_commissionperiod;
DROP FUNCTION IF EXISTS commissions_refuse_closed_period_change();
DROP TRIGGER IF EXISTS commissions_clawback_closed ON commissions_clawback;
DROP TRIGGER IF EXISTS commissions_adjustment_closed ON commissions_adjustment;
DROP FUNCTION IF EXISTS commissions_refuse_closed_period_rows();
DROP TRIGGER IF EXISTS commissions_plan_version_used ON commissions_planversion;
DROP FUNCTION IF EXISTS commissions_refuse_used_plan_version();
"""

MONTHLY_TASK = "commissions.calculate_previous_month"
PROJECTION_TASK = "commissions.refresh_projection"


def add_guards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARDS_SQL, params=None)


def drop_guards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_GUARDS_SQL, params=None)


def create_schedules(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    hour = settings.LADDER_COMMISSIONS_RUN_HOUR
    monthly, _ = CrontabSchedule.objects.get_or_create(
        minute="0",
        hour=str(hour),
        day_of_month="1",
        month_of_year="*",
        day_of_week="*",
        timezone=settings.TIME_ZONE,
    )
    PeriodicTask.objects.get_or_create(
        name="Calculate the commissions of the month that just ended",
        defaults={"task": MONTHLY_TASK, "crontab": monthly, "enabled": True},
    )
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.get_or_create(
        name="Refresh projected commissions of the open month",
        defaults={"task": PROJECTION_TASK, "interval": every_minute, "enabled": True},
    )


def remove_schedules(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        task__in=[MONTHLY_TASK, PROJECTION_TASK]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("commissions", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(add_guards, drop_guards),
        migrations.RunPython(create_schedules, remove_schedules),
    ]
