#!/usr/bin/env python3
"""Draws docs/channel.svg, the README's Channel plot, from the figures of
the README's Channel tables (one run of `cargo bench -p named-ipc --bench
channel` and of `bench-iceoryx2/`; update FIGURES when the tables change).

    python3 scripts/channel-plot.py > docs/channel.svg

No dependency beyond Python: horizontal bars on a log scale, one panel per
measurement, longer is better in every panel.
"""

import math

# (panel title, unit, better, [(label, value)]) -- from the README tables,
# run of 2026-12-04 09:46 UTC, commit b366f74.
FIGURES = [
    ("one-way 64 B", "M msgs/s", "higher", [
        ("ipc::Channel", 17.0),
        ("iceoryx2 pub-sub", 3.02),
        ("POSIX mq", 1.12),
        ("raw SPSC ring (no crash safety)", 56.0),
    ]),
    ("one-way 4 KiB", "M msgs/s", "higher", [
        ("ipc::Channel", 2.12),
        ("iceoryx2 pub-sub", 1.32),
        ("POSIX mq", 0.71),
        ("raw SPSC ring (no crash safety)", 2.02),
    ]),
    ("round trip 64 B, busy", "round trips/ms (1000 / µs)", "higher", [
        ("ipc::Channel", 1000 / 0.26),
        ("iceoryx2 pub-sub", 1000 / 0.99),
        ("POSIX mq", 1000 / 44.0),
        ("raw SPSC ring (no crash safety)", 1000 / 0.24),
    ]),
    ("round trip 64 B, both asleep", "round trips/ms (1000 / µs)", "higher", [
        ("ipc::Channel", 1000 / 28.4),
        ("POSIX mq", 1000 / 56.5),
    ]),
]

COLORS = {
    "ipc::Channel": "#2e86de",
    "iceoryx2 pub-sub": "#e67e22",
    "POSIX mq": "#7f8c8d",
    "raw SPSC ring (no crash safety)": "#c8d6e5",
}

WIDTH, LABEL_W, BAR_H, GAP, PANEL_GAP = 760, 230, 16, 4, 34
BAR_W = WIDTH - LABEL_W - 90


def main():
    out, y = [], 30
    lo = min(v for _, _, _, rows in FIGURES for _, v in rows)
    hi = max(v for _, _, _, rows in FIGURES for _, v in rows)
    lmin, lmax = math.floor(math.log10(lo)), math.ceil(math.log10(hi))

    def x_of(v):
        return LABEL_W + BAR_W * (math.log10(v) - lmin) / (lmax - lmin)

    out.append('<text x="10" y="18" font-size="14">ipc::Channel between two '
               'processes, log scale (longer is better)</text>')
    for title, unit, _, rows in FIGURES:
        y += 14
        out.append(f'<text x="10" y="{y}" font-weight="bold">{title}</text>'
                   f'<text x="{LABEL_W}" y="{y}" fill="#555">{unit}</text>')
        y += 6
        for label, v in rows:
            w = max(1.0, x_of(v) - LABEL_W)
            out.append(f'<text x="10" y="{y + 12}">{label}</text>'
                       f'<rect x="{LABEL_W}" y="{y}" width="{w:.1f}" height="{BAR_H}" '
                       f'fill="{COLORS[label]}"/>'
                       f'<text x="{LABEL_W + w + 4:.1f}" y="{y + 12}">{v:.3g}</text>')
            y += BAR_H + GAP
        y += PANEL_GAP - GAP
    # Decade grid lines.
    grid = []
    for d in range(lmin, lmax + 1):
        x = x_of(10 ** d)
        grid.append(f'<line x1="{x:.1f}" y1="26" x2="{x:.1f}" y2="{y - 20}" '
                    f'stroke="#ddd"/><text x="{x:.1f}" y="{y - 6}" '
                    f'text-anchor="middle" fill="#555">{10 ** d:g}</text>')
    print(f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{y}" '
          'font-family="sans-serif" font-size="11">')
    print('<rect width="100%" height="100%" fill="white"/>')
    print("\n".join(grid))
    print("\n".join(out))
    print("</svg>")


if __name__ == "__main__":
    main()
