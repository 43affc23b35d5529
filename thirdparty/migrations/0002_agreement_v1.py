from django.db import migrations

TITLE = "Third-party data confidentiality and access agreement"
BODY = """1. Purpose. You may use a customer's data only for the use you stated when you registered, and only while the customer's authorization lasts.
2. Confidentiality. You keep customer data confidential. You do not sell it, share it with anyone else, or combine it with other data to identify people, unless the customer asked you to in writing.
3. Security. You protect customer data and your credentials with reasonable technical and organisational measures; you keep your client secret and signing key out of source code and logs.
4. Minimum data. You ask only for the data and the history you need, and you delete data you no longer need and all data when the customer revokes access.
5. Equipment at the customer's premises. You send control requests only with the customer's authorization for device control, signed with the key you registered, and only for actions the customer agreed to. Every such request is logged by the utility.
6. Breaches. You tell the utility within 72 hours of learning that customer data or your credentials may have been exposed.
7. Audit and suspension. The utility may audit your compliance and may put your access on hold or revoke it at once if you breach this agreement.
8. Changes. When the utility publishes a new version of this agreement, you must accept it before customers can grant you new access."""


def create(apps, schema_editor):
    Agreement = apps.get_model("thirdparty", "Agreement")
    Agreement.objects.get_or_create(version=1, defaults={"title": TITLE, "body": BODY})


class Migration(migrations.Migration):
    dependencies = [("thirdparty", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
