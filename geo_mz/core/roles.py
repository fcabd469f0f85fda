"""Roles are Django groups. The names are Chinese (what users see); code refers to the constants."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

ADMIN = "管理员"
PLACENAME_OFFICER = "地名管理员"
PLANNER = "规划员"
BOUNDARY_TEAM = "界线工作组"
VIEWER = "只读"

ALL_ROLES: tuple[str, ...] = (ADMIN, PLACENAME_OFFICER, PLANNER, BOUNDARY_TEAM, VIEWER)

ROLE_DESCRIPTIONS = {
    ADMIN: _("管理员：管理用户、区划与全部数据"),
    PLACENAME_OFFICER: _("地名管理员：地名命名更名、门牌编制与门牌证"),
    PLANNER: _("规划员：民政设施与覆盖分析"),
    BOUNDARY_TEAM: _("界线工作组：行政区域界线、界桩与联检"),
    VIEWER: _("只读：查看地图与数据"),
}

# Which roles may edit which app's data. Admin may edit everything.
EDIT_ROLES: dict[str, tuple[str, ...]] = {
    "divisions": (ADMIN,),
    "placenames": (ADMIN, PLACENAME_OFFICER),
    "addresses": (ADMIN, PLACENAME_OFFICER),
    "boundaries": (ADMIN, BOUNDARY_TEAM),
    "facilities": (ADMIN, PLANNER),
    "coverage": (ADMIN, PLANNER),
}
