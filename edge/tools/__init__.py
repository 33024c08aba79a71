"""Technician tools: install, devices, test, status (registered in edge.cli TOOLS)."""
from __future__ import annotations

import sys

from edge.config import OfficeConfig, check


def load_config(path: str, prog: str, warn: bool = False) -> OfficeConfig | None:
    """Load an office config, printing every problem as `file:line: field: message`; with `warn`
    also every warning (virtual devices, simulated upstream), loudly, as `install` must."""
    cfg, errors, warns = check(path)
    if errors:
        for issue in errors:
            print(issue, file=sys.stderr)
        print(f"{prog}: {path}: {len(errors)} lỗi / error(s); sửa trước (motcua config check) / fix them first",
              file=sys.stderr)
        return None
    if warn and warns:
        bar = "!" * 72
        print(bar, file=sys.stderr)
        for issue in warns:
            print(issue, file=sys.stderr)
        print(f"{prog}: {len(warns)} CẢNH BÁO: cài đặt này chạy thiết bị giả lập hoặc hệ thống tỉnh giả lập / "
              f"{len(warns)} WARNING(S): this installs simulated devices or a simulated upstream", file=sys.stderr)
        print(bar, file=sys.stderr)
    return cfg
