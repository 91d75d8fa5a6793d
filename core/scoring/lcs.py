"""Summary-level LCS hits (ROUGE-Lsum) without rouge-score's quadratic Python tables.

rouge-score's `_summary_level_lcs` takes, for every reference sentence r and candidate
sentence c, one particular LCS (its `_backtrack_norec` path from the bottom-right corner:
diagonal on a match, else left when `t[i][j-1] > t[i-1][j]`, else up), unions the reference
positions on those paths per r, and counts them capped by token counts. The union depends on
which LCS the backtrack picks, so the length alone is not enough: this module walks that same
path, for all reference sentences at once, with bit-parallel integers:

- Reference positions are bits of one integer (sentence after sentence, a zero guard bit
  around each); for each candidate sentence, Hyyro's bit-vector LCS runs over its tokens and
  keeps, per column j, the vector of vertical differences `t[i][j] - t[i-1][j]`.
- The backtrack then runs column by column from the last: inside column j the path moves up
  until a row that matches c[j] (diagonal: the row is recorded) or whose vertical difference
  is 1 (left). In a bit-reversed copy "up" is toward higher bits, so one addition moves every
  sentence's path to its next stop at once (the carry runs through the non-stop bits).

Time: about 15 big-integer operations per candidate token, each on |reference| bits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence

_REVERSED_BYTE = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


class SummaryIndex:
    """One reference's sentences (token lists), prepared for `hits`; immutable once built."""

    def __init__(self, sentences: Sequence[Sequence[Hashable]]) -> None:
        masks: dict[Hashable, int] = {}
        rows = tops = 0
        position = 1  # bit 0 is the guard below the first sentence
        for sentence in sentences:
            if not sentence:
                continue
            for offset, token in enumerate(sentence):
                masks[token] = masks.get(token, 0) | (1 << (position + offset))
            rows |= ((1 << len(sentence)) - 1) << position
            tops |= 1 << (position + len(sentence) - 1)
            position += len(sentence) + 1  # and a guard bit above it
        self._nbytes = (position + 7) // 8
        self._masks = masks
        self._rows = rows
        self._rows_rev = self._reverse(rows)
        self._tops_rev = self._reverse(tops)
        self._masks_rev: dict[Hashable, int] = {}  # filled on demand, with their complements:
        self._unmatched_rev: dict[Hashable, int] = {}  # (int values only: the GC ignores these)
        self.length = rows.bit_count()

    def _reverse(self, bits: int) -> int:
        size = self._nbytes
        return int.from_bytes(bits.to_bytes(size, "little").translate(_REVERSED_BYTE), "big")

    def _mask_rev(self, token: Hashable) -> int:
        """The bit-reversed rows holding `token` (and its complement, in `_unmatched_rev`)."""
        mask = self._masks_rev.get(token)
        if mask is None:
            mask = self._reverse(self._masks.get(token, 0))
            self._unmatched_rev[token] = ~mask
            self._masks_rev[token] = mask  # set last: a reader seeing it finds both
        return mask

    def hits(self, candidate: Sequence[Sequence[Hashable]]) -> int:
        """rouge-score's summary-level LCS hit count against these candidate sentences."""
        masks, masks_rev, unmatched_rev = self._masks, self._masks_rev, self._unmatched_rev
        mask_rev, rows, rows_rev, tops_rev = self._mask_rev, self._rows, self._rows_rev, self._tops_rev
        size = self._nbytes
        from_bytes = int.from_bytes
        union = 0  # reference rows on some sentence pair's LCS path (bit-reversed)
        for sentence in candidate:
            column = rows  # natural order; a 0 bit on a row: t[i][j] - t[i-1][j] == 1
            columns = []
            for token in sentence:
                match = masks.get(token)
                if match:
                    u = column & match
                    column = ((column + u) | (column - u)) & rows
                columns.append(column)
            path = tops_rev  # every reference sentence starts at its last row
            last = None
            for token, column in zip(reversed(sentence), reversed(columns)):
                if column is not last:
                    last = column  # flat: rows where t[i][j] == t[i-1][j], bit-reversed
                    flat = from_bytes(column.to_bytes(size, "little").translate(_REVERSED_BYTE), "big")
                match = masks_rev.get(token)
                if match is None:
                    match = mask_rev(token)
                unmatched = unmatched_rev[token]
                free = flat & unmatched  # rows the path moves up through
                stops = (free + path) & (rows_rev ^ free)  # each path's next stop (guard: done)
                if match:
                    matched = stops & match  # diagonal moves: these rows are on the LCS
                    union |= matched
                    path = (matched << 1) | (stops ^ matched)  # may sit on a guard for one step
                else:
                    path = stops
                if not path:
                    break
        if not union:
            return 0
        # rouge-score walks the union rows sentence by sentence and counts a hit while both the
        # reference's and the candidate's remaining count of that token are positive: per token
        # that is min(union rows holding it, its count in the candidate) (union rows <= its
        # count in the reference), whatever the order.
        counts = Counter(token for sentence in candidate for token in sentence)
        return sum(
            min((union & mask_rev(token)).bit_count(), n) for token, n in counts.items() if token in masks
        )
