"""Projects and their tags: the rules of Custom Vision's project calls (names, domains, classification types, tag
uniqueness and limits). The API translates the wire; the store keeps the records."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..errors import AlreadyExists, NotFound
from .codes import (
    DEFAULT_DOMAIN,
    DOMAINS,
    ClassificationType,
    Domain,
    DomainType,
    ErrorCode,
    ExportPlatform,
    TagType,
    find_domain,
)
from .errors import CustomVisionError
from .records import Project, Tag

if TYPE_CHECKING:
    from ..store import Store

MAX_NAME = 255  # Custom Vision's limit on project and tag names
MAX_DESCRIPTION = 4096
MAX_TAGS_PER_PROJECT = 500  # Custom Vision S0's


def now() -> datetime:
    return datetime.now(UTC)


class ProjectService:
    def __init__(self, store: Store, on_deleted: Callable[[Project], None] = lambda project: None):
        """`on_deleted(project)` is told of each deleted project, after its records are gone (its files go)."""
        self._records = store.projects
        self._on_deleted = on_deleted

    # Projects -------------------------------------------------------------------------------------------------

    def create(self, name: str | None, description: str | None, domain_id: str | None,
               classification_type: str | None, export_platforms: Sequence[str] = ()) -> Project:
        name = _checked_name(name, ErrorCode.PROJECT_NAME, "project")
        description = _checked_description(description, ErrorCode.PROJECT_DESCRIPTION)
        domain = _domain(domain_id)
        kind = _classification_type(domain, classification_type)
        platforms = _export_platforms(export_platforms)
        moment = now()
        project = Project(str(uuid.uuid4()), name, description, domain.id, kind, platforms, moment, moment, moment)
        return self._records.insert_project(project)

    def get(self, project_id: str) -> Project:
        try:
            return self._records.get_project(checked_id(project_id, ErrorCode.NOT_FOUND_PROJECT, "project"))
        except NotFound:
            raise project_not_found(project_id) from None

    def list(self) -> list[Project]:
        return self._records.list_projects()

    def update(self, project_id: str, name: str | None, description: str | None, domain_id: str | None,
               classification_type: str | None, export_platforms: Sequence[str] | None) -> Project:
        current = self.get(project_id)
        changes: dict[str, object] = {}
        if name is not None:
            changes["name"] = _checked_name(name, ErrorCode.PROJECT_NAME, "project")
        if description is not None:
            changes["description"] = _checked_description(description, ErrorCode.PROJECT_DESCRIPTION)
        domain = current.domain
        if domain_id is not None and domain_id.lower() != current.domain_id:
            domain = _domain(domain_id)
            if domain.type is not current.domain.type:
                raise CustomVisionError(
                    ErrorCode.PROJECT_UNSUPPORTED_DOMAIN_TYPE_CHANGE,
                    f"a {current.domain.type.value} project cannot move to the {domain.type.value} domain "
                    f"{domain.name!r}: create a new project for it",
                )
            changes["domain_id"] = domain.id
        if classification_type is not None or "domain_id" in changes:
            kind = _classification_type(domain, classification_type or (
                current.classification_type.value if current.classification_type else None))
            changes["classification_type"] = kind
        if export_platforms is not None:
            changes["target_export_platforms"] = _export_platforms(export_platforms)
        return self._records.update_project(current.id, **changes)

    def delete(self, project_id: str, models_of: Callable[[Project], None] = lambda project: None) -> None:
        project = self.get(project_id)
        models_of(project)  # raises while one of its iterations still trains; deletes their models otherwise
        self._records.delete_project(project.id)
        self._on_deleted(project)

    # Tags -----------------------------------------------------------------------------------------------------

    def create_tag(self, project_id: str, name: str | None, description: str | None, type_: str | None) -> Tag:
        project = self.get(project_id)
        name = _checked_name(name, ErrorCode.TAG_NAME, "tag")
        description = _checked_description(description, ErrorCode.TAG_DESCRIPTION)
        tag_type = _tag_type(type_)
        if tag_type is TagType.GENERAL_PRODUCT:
            raise CustomVisionError(ErrorCode.TAG_TYPE, "GeneralProduct tags are for retail projects, which Tailor "
                                    "does not offer: use a Regular tag")
        tags = self._records.list_tags(project.id)
        if len(tags) >= MAX_TAGS_PER_PROJECT:
            raise CustomVisionError(ErrorCode.EXCEED_TAG_PER_PROJECT_LIMIT,
                                    f"the project has {len(tags)} tags, the most a project can have: delete one first")
        if tag_type is TagType.NEGATIVE and any(t.type is TagType.NEGATIVE for t in tags):
            raise CustomVisionError(ErrorCode.TAG_TYPE, "the project has a Negative tag already; a project has one")
        try:
            return self._records.insert_tag(project.id, Tag(str(uuid.uuid4()), name, description, tag_type))
        except AlreadyExists:
            raise tag_name_taken(name) from None

    def tags(self, project_id: str) -> builtins.list[Tag]:  # `list` here would be the method above
        return self._records.list_tags(self.get(project_id).id)

    def tag(self, project_id: str, tag_id: str) -> Tag:
        project = self.get(project_id)
        try:
            return self._records.get_tag(project.id, checked_id(tag_id, ErrorCode.NOT_FOUND_TAG, "tag"))
        except NotFound:
            raise tag_not_found(tag_id) from None

    def update_tag(self, project_id: str, tag_id: str, name: str | None, description: str | None,
                   type_: str | None) -> Tag:
        current = self.tag(project_id, tag_id)
        changes: dict[str, object] = {}
        if name is not None:
            changes["name"] = _checked_name(name, ErrorCode.TAG_NAME, "tag")
        if description is not None:
            changes["description"] = _checked_description(description, ErrorCode.TAG_DESCRIPTION)
        if type_ is not None:
            changes["type"] = _tag_type(type_)
        try:
            return self._records.update_tag(project_id, current.id, **changes)
        except AlreadyExists:
            raise tag_name_taken(str(changes["name"])) from None

    def delete_tag(self, project_id: str, tag_id: str) -> None:
        tag = self.tag(project_id, tag_id)
        self._records.delete_tag(project_id, tag.id)


def domains() -> tuple[Domain, ...]:
    return DOMAINS


def domain(domain_id: str) -> Domain:
    found = find_domain(domain_id)
    if found is None:
        raise CustomVisionError(ErrorCode.NOT_FOUND_DOMAIN, f"there is no domain with id {domain_id!r}; get_domains "
                                "lists the domains Tailor offers")
    return found


def project_not_found(project_id: str) -> CustomVisionError:
    return CustomVisionError(ErrorCode.NOT_FOUND_PROJECT,
                             f"there is no project with id {project_id!r}; get_projects lists the projects")


def tag_not_found(tag_id: str) -> CustomVisionError:
    return CustomVisionError(ErrorCode.NOT_FOUND_TAG,
                             f"there is no tag with id {tag_id!r} in this project; get_tags lists its tags")


def tag_name_taken(name: str) -> CustomVisionError:
    return CustomVisionError(ErrorCode.TAG_NAME_NOT_UNIQUE,
                             f"the project already has a tag named {name!r} (names are compared without case): "
                             "use that tag, or choose another name")


def checked_id(value: str, code: ErrorCode, what: str) -> str:
    """Ids are uuids; anything else cannot name a record (and must not reach a uuid-typed column)."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise CustomVisionError(code, f"{value!r} is not a {what} id (a uuid such as "
                                "'0f3c1a2e-9b7d-4c1e-8a55-2f6d3b9e1c70')") from None


def _checked_name(name: str | None, code: ErrorCode, what: str) -> str:
    if name is None or not name.strip():
        raise CustomVisionError(code, f"the {what} needs a name: give `name`")
    name = name.strip()
    if len(name) > MAX_NAME:
        raise CustomVisionError(code, f"the {what} name is {len(name)} characters; at most {MAX_NAME}")
    return name


def _checked_description(description: str | None, code: ErrorCode) -> str:
    description = description or ""
    if len(description) > MAX_DESCRIPTION:
        raise CustomVisionError(code, f"the description is {len(description)} characters; at most {MAX_DESCRIPTION}")
    return description


def _domain(domain_id: str | None) -> Domain:
    if not domain_id:
        return DEFAULT_DOMAIN
    found = find_domain(domain_id)
    if found is None:
        known = "; ".join(f"{d.id} ({d.type.value}, {d.name})" for d in DOMAINS)
        raise CustomVisionError(ErrorCode.PROJECT_UNKNOWN_DOMAIN,
                                f"Tailor has no domain with id {domain_id!r}. Its domains: {known}")
    return found


def _classification_type(domain: Domain, value: str | None) -> ClassificationType | None:
    if domain.type is DomainType.OBJECT_DETECTION:
        return None
    if value is None:
        return ClassificationType.MULTICLASS
    for kind in ClassificationType:
        if kind.value.lower() == value.lower():
            return kind
    raise CustomVisionError(ErrorCode.PROJECT_UNKNOWN_CLASSIFICATION,
                            f"classificationType {value!r} is not one of Multiclass, Multilabel")


def _export_platforms(values: Sequence[str]) -> tuple[str, ...]:
    known = {p.value.lower(): p.value for p in ExportPlatform}
    chosen = []
    for value in values:
        if value.lower() not in known:
            raise CustomVisionError(ErrorCode.PROJECT_UNSUPPORTED_EXPORT_PLATFORM,
                                    f"targetExportPlatforms {value!r} is not one of {', '.join(known.values())}")
        chosen.append(known[value.lower()])
    return tuple(chosen)


def _tag_type(value: str | None) -> TagType:
    if value is None:
        return TagType.REGULAR
    for kind in TagType:
        if kind.value.lower() == value.lower():
            return kind
    raise CustomVisionError(ErrorCode.TAG_TYPE, f"tag type {value!r} is not one of Regular, Negative, GeneralProduct")
