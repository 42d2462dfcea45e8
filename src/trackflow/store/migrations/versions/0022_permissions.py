"""Auth: permissions (READ, EDIT, MANAGE, NO_PERMISSIONS) of users and groups on experiments,
registered models (prompts too) and DAGs; groups and their members; a number per user (MLflow's
``user.id``).

Revision ID: 0022_permissions
Revises: 0021_audit
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_permissions"
down_revision = "0021_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("auth_users", sa.Column("user_id", sa.Integer))  # plain ADD COLUMN: tokens keep their rows
    # number the users there are, in the order they were made
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT username FROM auth_users ORDER BY created_at, username")).fetchall()
    for number, row in enumerate(rows, start=1):
        conn.execute(sa.text("UPDATE auth_users SET user_id = :n WHERE username = :u"), {"n": number, "u": row[0]})
    op.create_table(
        "auth_groups",
        sa.Column("name", sa.String(150), primary_key=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "auth_group_members",
        sa.Column("group_name", sa.String(150), sa.ForeignKey("auth_groups.name", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("username", sa.String(150), sa.ForeignKey("auth_users.username", ondelete="CASCADE"),
                  primary_key=True),
    )
    op.create_table(
        "auth_permissions",
        sa.Column("principal_kind", sa.String(8), primary_key=True),  # user | group
        sa.Column("principal", sa.String(150), primary_key=True),
        sa.Column("resource_type", sa.String(32), primary_key=True),  # experiment | registered_model | dag
        sa.Column("resource_id", sa.String(500), primary_key=True),
        sa.Column("permission", sa.String(16), nullable=False),
    )
    op.create_index("ix_auth_permissions_resource", "auth_permissions", ["resource_type", "resource_id"])


def downgrade() -> None:
    op.drop_table("auth_permissions")
    op.drop_table("auth_group_members")
    op.drop_table("auth_groups")
    with op.batch_alter_table("auth_users") as batch:
        batch.drop_column("user_id")
