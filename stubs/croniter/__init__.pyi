# The part of croniter (which ships no type information) that durablec uses.
from datetime import datetime
from typing import Any, TypeVar

T = TypeVar("T")

class CroniterError(ValueError): ...
class CroniterBadCronError(CroniterError): ...
class CroniterBadDateError(CroniterError): ...

class croniter:
    def __init__(
        self,
        expr_format: str,
        start_time: datetime | float | None = None,
        ret_type: type = ...,
        day_or: bool = True,
        max_years_between_matches: int | None = None,
        is_prev: bool = False,
        hash_id: bytes | str | None = None,
        implement_cron_bug: bool = False,
        second_at_beginning: bool = False,
        expand_from_start_time: bool = False,
    ) -> None: ...
    def get_next(self, ret_type: type[T], start_time: Any = None, update_current: bool = True) -> T: ...
    def get_prev(self, ret_type: type[T], start_time: Any = None, update_current: bool = True) -> T: ...
