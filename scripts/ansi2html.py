#!/usr/bin/env python3
"""Turn a terminal screen dump into one self-contained HTML page.

Input is what `tmux capture-pane -p -e [-N]` prints: text lines with ANSI SGR
escapes (colours and attributes).  tmux only emits the *changes* of attributes,
and carries them across line ends, so the state is kept from line to line.

Output is a page with a dark background where every cell is exactly one
character wide (two for East Asian wide characters), in DejaVu Sans Mono with a
line height that makes box-drawing lines join.  Braille patterns (U+2800..28FF,
used by charts) are drawn as dots in CSS, because DejaVu Sans Mono has no
braille glyphs and the fallback font is wider than a cell.

    ansi2html.py [--title T] [--cols N] [--rows N] [-o OUT.html] [DUMP]

DUMP defaults to standard input, OUT to standard output.  Only the page is
printed.  Python 3 standard library only.
"""

import argparse
import html
import sys
import unicodedata

# Default colours of the page (the "terminal's" default foreground/background).
DEFAULT_FG = (0xCC, 0xCC, 0xCC)
DEFAULT_BG = (0x1E, 0x1E, 0x1E)

# The 16 base colours (0-7 normal, 8-15 bright), a dark-theme palette.
BASE16 = [
    (0x00, 0x00, 0x00), (0xCD, 0x31, 0x31), (0x0D, 0xBC, 0x79), (0xE5, 0xE5, 0x10),
    (0x24, 0x72, 0xC8), (0xBC, 0x3F, 0xBC), (0x11, 0xA8, 0xCD), (0xE5, 0xE5, 0xE5),
    (0x76, 0x76, 0x76), (0xF1, 0x4C, 0x4C), (0x23, 0xD1, 0x8B), (0xF5, 0xF5, 0x43),
    (0x3B, 0x8E, 0xEA), (0xD6, 0x70, 0xD6), (0x29, 0xB8, 0xDB), (0xFF, 0xFF, 0xFF),
]

DIM_KEEP = 0.55  # dim text: this much of the foreground, the rest background


def palette256():
    """The xterm 256-colour palette: 16 base, 6x6x6 cube, 24 greys."""
    pal = list(BASE16)
    levels = [0] + [55 + 40 * i for i in range(1, 6)]  # 0, 95, 135, 175, 215, 255
    for r in range(6):
        for g in range(6):
            for b in range(6):
                pal.append((levels[r], levels[g], levels[b]))
    for i in range(24):
        v = 8 + 10 * i
        pal.append((v, v, v))
    return pal


PALETTE = palette256()


class Style:
    """The SGR state of one cell.  fg/bg: None (default), int (palette) or RGB tuple."""

    __slots__ = ("fg", "bg", "bold", "dim", "italic", "underline", "reverse",
                 "hidden", "strike", "overline")

    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = None
        self.bg = None
        self.bold = self.dim = self.italic = self.underline = False
        self.reverse = self.hidden = self.strike = self.overline = False

    def key(self):
        return tuple(getattr(self, s) for s in self.__slots__)


def _extended_colour(params, i):
    """Parse the colour after a 38/48/58 at params[i]. Return (colour, next index).

    params is a list of sub-parameter lists: `38;5;N` arrives as [[38],[5],[N]],
    `38:5:N` as [[38,5,N]], `38:2::R:G:B` as [[38,2,None,R,G,B]].
    """
    head = params[i]
    if len(head) > 1:  # colon form: everything is in this one parameter
        sub = head[1:]
        if sub and sub[0] == 5 and len(sub) >= 2:
            return _index(sub[1]), i + 1
        if sub and sub[0] == 2:
            rgb = [v for v in sub[1:]]
            if len(rgb) >= 4:  # a colour-space id is present (possibly empty)
                rgb = rgb[1:4]
            if len(rgb) >= 3:
                return tuple(_byte(v) for v in rgb[:3]), i + 1
        return None, i + 1
    # semicolon form: the mode and values are the following parameters
    mode = _first(params, i + 1)
    if mode == 5:
        return _index(_first(params, i + 2)), i + 3
    if mode == 2:
        rgb = [_first(params, i + k) for k in (2, 3, 4)]
        return tuple(_byte(v) for v in rgb), i + 5
    return None, i + 2


def _first(params, i):
    if i < len(params) and params[i]:
        return params[i][0]
    return None


def _byte(v):
    return max(0, min(255, v or 0))


def _index(v):
    return max(0, min(255, v or 0))


def apply_sgr(style, text):
    """Apply the parameters of one `ESC [ ... m` to style."""
    params = []
    for part in text.split(";") if text else [""]:
        sub = []
        for s in part.split(":"):
            sub.append(int(s) if s.isdigit() else None)
        params.append(sub)
    i = 0
    while i < len(params):
        code = params[i][0]
        if code is None or code == 0:
            style.reset()
        elif code == 1:
            style.bold = True
        elif code == 2:
            style.dim = True
        elif code == 3:
            style.italic = True
        elif code in (4, 21):
            style.underline = not (code == 4 and len(params[i]) > 1 and params[i][1] == 0)
        elif code in (5, 6):
            pass  # blink: a still picture cannot blink
        elif code == 7:
            style.reverse = True
        elif code == 8:
            style.hidden = True
        elif code == 9:
            style.strike = True
        elif code == 22:
            style.bold = style.dim = False
        elif code == 23:
            style.italic = False
        elif code == 24:
            style.underline = False
        elif code == 27:
            style.reverse = False
        elif code == 28:
            style.hidden = False
        elif code == 29:
            style.strike = False
        elif 30 <= code <= 37:
            style.fg = code - 30
        elif code == 38:
            colour, i = _extended_colour(params, i)
            style.fg = colour
            continue
        elif code == 39:
            style.fg = None
        elif 40 <= code <= 47:
            style.bg = code - 40
        elif code == 48:
            colour, i = _extended_colour(params, i)
            style.bg = colour
            continue
        elif code == 49:
            style.bg = None
        elif code == 53:
            style.overline = True
        elif code == 55:
            style.overline = False
        elif code == 58:
            _, i = _extended_colour(params, i)  # underline colour: not drawn
            continue
        elif 90 <= code <= 97:
            style.fg = code - 90 + 8
        elif 100 <= code <= 107:
            style.bg = code - 100 + 8
        i += 1


def cell_width(ch):
    """Columns a character takes: 0 (combining/format), 1, or 2 (wide)."""
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 2
    return 1


def parse(data):
    """Return the screen as rows of cells; a cell is [text, style key, width].

    A wide character is one cell of width 2; no padding cell follows it.
    """
    rows = [[]]
    style = Style()
    i, n = 0, len(data)
    while i < n:
        ch = data[i]
        if ch == "\x1b":
            if i + 1 < n and data[i + 1] == "[":  # CSI
                j = i + 2
                while j < n and not ("\x40" <= data[j] <= "\x7e"):
                    j += 1
                if j < n and data[j] == "m":
                    apply_sgr(style, data[i + 2:j])
                i = j + 1
            elif i + 1 < n and data[i + 1] in "]PX^_":  # OSC/DCS/...: up to BEL or ST
                j = i + 2
                while j < n and data[j] != "\x07" and not (data[j] == "\x1b" and data[j + 1:j + 2] == "\\"):
                    j += 1
                i = j + (1 if j < n and data[j] == "\x07" else 2)
            else:
                i += 2  # a two-character escape
            continue
        i += 1
        if ch == "\n":
            rows.append([])
        elif ch == "\t":
            width = sum(c[2] for c in rows[-1])
            for _ in range(8 - width % 8):
                rows[-1].append([" ", style.key(), 1])
        elif ch < " " or ch == "\x7f":
            continue
        else:
            w = cell_width(ch)
            if w == 0:
                if rows[-1]:
                    rows[-1][-1][0] += ch
                continue
            rows[-1].append([ch, style.key(), w])
    if data.endswith("\n"):
        rows.pop()  # the newline ends the last line; it does not start another
    return rows


def fit(rows, cols, rows_wanted):
    """Pad or crop to cols x rows_wanted cells (None: keep what is there)."""
    blank = Style().key()
    if cols is None:
        cols = max((sum(c[2] for c in r) for r in rows), default=0)
    if rows_wanted is None:
        rows_wanted = len(rows)
    out = []
    for r in rows[:rows_wanted]:
        line, width = [], 0
        for cell in r:
            if width + cell[2] > cols:
                if width < cols:  # a wide character cut at the edge
                    line.append([" ", cell[1], 1])
                    width += 1
                break
            line.append(cell)
            width += cell[2]
        line.extend([" ", blank, 1] for _ in range(cols - width))
        out.append(line)
    out.extend([[" ", blank, 1] for _ in range(cols)] for _ in range(rows_wanted - len(out)))
    return out, cols, rows_wanted


def rgb_of(colour, default):
    if colour is None:
        return default
    if isinstance(colour, int):
        return PALETTE[colour]
    return colour


def blend(a, b, keep):
    return tuple(round(x * keep + y * (1 - keep)) for x, y in zip(a, b))


def hexrgb(c):
    return "#%02x%02x%02x" % c


def resolve(key):
    """The CSS declarations for a style key ('' for the default look)."""
    fg, bg, bold, dim, italic, underline, reverse, hidden, strike, overline = key
    fg_rgb = rgb_of(fg, DEFAULT_FG)
    bg_rgb = rgb_of(bg, DEFAULT_BG)
    has_bg = bg is not None
    if reverse:
        fg_rgb, bg_rgb = bg_rgb, fg_rgb
        has_bg = True
    if dim:
        fg_rgb = blend(fg_rgb, bg_rgb, DIM_KEEP)
    if hidden:
        fg_rgb = bg_rgb
    decls = []
    if fg_rgb != DEFAULT_FG:
        decls.append("color:" + hexrgb(fg_rgb))
    if has_bg and bg_rgb != DEFAULT_BG:
        decls.append("background:" + hexrgb(bg_rgb))
    if bold:
        decls.append("font-weight:bold")
    if italic:
        decls.append("font-style:italic")
    lines = [n for n, on in (("underline", underline), ("line-through", strike),
                             ("overline", overline)) if on]
    if lines:
        decls.append("text-decoration:" + " ".join(lines))
    return ";".join(decls)


def braille_css(pattern, line_px):
    """Background layers that draw the dots of braille pattern (0..255) in currentColor."""
    # bit -> (column, row): dots 1,2,3,7 on the left, 4,5,6,8 on the right
    dots = {0: (0, 0), 1: (0, 1), 2: (0, 2), 6: (0, 3),
            3: (1, 0), 4: (1, 1), 5: (1, 2), 7: (1, 3)}
    radius = min(line_px / 4.0, 6.0) * 0.36
    layers = []
    for bit, (col, row) in sorted(dots.items(), key=lambda d: (d[1][1], d[1][0])):
        if pattern & (1 << bit):
            layers.append(
                "radial-gradient(circle at %g%% %g%%,currentColor %.2fpx,transparent %.2fpx)"
                % (25 + 50 * col, 12.5 + 25 * row, radius, radius + 0.7))
    return "background-image:" + ",".join(layers) if layers else ""


def render(rows, cols, nrows, title, font_px, line_px, pad_px):
    classes = {}  # css declarations -> class name
    used_braille = set()
    body = []
    for row in rows:
        # group runs of the same style
        runs = []
        for text, key, width in row:
            if runs and runs[-1][0] == key:
                runs[-1][1].append((text, width))
            else:
                runs.append((key, [(text, width)]))
        parts = []
        for key, cells in runs:
            out = []
            for text, width in cells:
                code = ord(text[0])
                if 0x2800 <= code <= 0x28FF:
                    used_braille.add(code - 0x2800)
                    out.append('<i class="b b%02x"></i>' % (code - 0x2800))
                elif width == 2:
                    out.append('<i class="w">%s</i>' % html.escape(text, quote=False))
                else:
                    out.append(html.escape(text, quote=False))
            css = resolve(key)
            inner = "".join(out)
            if css:
                name = classes.setdefault(css, "s%d" % len(classes))
                parts.append('<span class="%s">%s</span>' % (name, inner))
            else:
                parts.append(inner)
        body.append("".join(parts))

    style = [
        "html,body{margin:0;padding:0;background:%s;overflow:hidden}" % hexrgb(DEFAULT_BG),
        "pre{margin:0;padding:%dpx;width:%dch;height:%dpx;color:%s;background:%s;"
        "font-family:'DejaVu Sans Mono',monospace;font-size:%dpx;line-height:%dpx;"
        "white-space:pre;overflow:hidden;font-variant-ligatures:none;font-kerning:none;"
        "letter-spacing:0;tab-size:8}"
        % (pad_px, cols, nrows * line_px, hexrgb(DEFAULT_FG), hexrgb(DEFAULT_BG),
           font_px, line_px),
        "i{font-style:inherit}",
        "i.w{display:inline-block;width:2ch;text-align:center;height:%dpx;"
        "vertical-align:top;overflow:visible}" % line_px,
        "i.b{display:inline-block;width:1ch;height:%dpx;vertical-align:top;"
        "background-repeat:no-repeat}" % line_px,
    ]
    style += [".%s{%s}" % (name, css) for css, name in classes.items()]
    style += ["i.b%02x{%s}" % (p, braille_css(p, line_px)) for p in sorted(used_braille)]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<title>%s</title>\n<style>\n%s\n</style></head>\n<body><pre>%s</pre></body></html>\n"
        % (html.escape(title), "\n".join(style), "\n".join(body)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", nargs="?", default="-", help="screen dump (default: stdin)")
    ap.add_argument("-o", "--output", default="-", help="HTML file (default: stdout)")
    ap.add_argument("--title", default="terminal", help="page title")
    ap.add_argument("--cols", type=int, help="pad or crop to this many columns")
    ap.add_argument("--rows", type=int, help="pad or crop to this many rows")
    ap.add_argument("--font-size", type=int, default=15, help="px (default 15)")
    ap.add_argument("--line-height", type=int, default=17,
                    help="px; at most the font's ascent+descent (1.164 em) so boxes join")
    ap.add_argument("--padding", type=int, default=12, help="margin around the screen, px")
    args = ap.parse_args(argv)
    if (args.cols is not None and args.cols < 1) or (args.rows is not None and args.rows < 1):
        ap.error("--cols and --rows must be positive")

    if args.input == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(args.input, "rb") as f:
            data = f.read()
    rows = parse(data.decode("utf-8", errors="replace"))
    rows, cols, nrows = fit(rows, args.cols, args.rows)
    page = render(rows, cols, nrows, args.title, args.font_size, args.line_height,
                  args.padding)
    if args.output == "-":
        sys.stdout.write(page)
    else:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
