using Fs.Core.Meta;

namespace Fs.Core.Chunks;

/// <summary>Turns a chunk's slice list (later slices shadow earlier ones) into the visible, non-overlapping pieces a reader sees.</summary>
public static class SliceResolver
{
    /// <summary>
    /// The visible pieces of a chunk in position order, covering [0, min(max slice end, <paramref name="chunkLength"/>))
    /// without gaps or overlaps. Each piece is part of one slice (Offset, Length and Pos adjusted) or a hole
    /// (<see cref="Slice.Hole"/>) where no slice reaches or a hole slice shadows older data. Adjacent holes are merged,
    /// and so are adjacent pieces that continue the same slice's data.
    /// </summary>
    public static IReadOnlyList<Slice> Resolve(IReadOnlyList<Slice> slices, uint chunkLength)
    {
        var visible = new List<Slice>(slices.Count * 2 + 1);
        ulong extent = 0;
        foreach (var slice in slices)
        {
            if (slice.Length == 0)
                continue;
            extent = Math.Max(extent, (ulong)slice.Pos + slice.Length);
            if (slice.Pos >= chunkLength)
                continue;
            var end = (uint)Math.Min((ulong)slice.Pos + slice.Length, chunkLength);
            Overlay(visible, Cut(slice, slice.Pos, end));
        }
        return FillGaps(visible, (uint)Math.Min(extent, chunkLength));
    }

    /// <summary>
    /// Appends to <paramref name="output"/> the pieces of <paramref name="resolved"/> (as returned by <see cref="Resolve"/>)
    /// that cover [<paramref name="from"/>, from + <paramref name="length"/>), moved to start at <paramref name="at"/>,
    /// with a hole wherever nothing is visible. The output covers [at, at + length) exactly.
    /// </summary>
    public static void Extract(IReadOnlyList<Slice> resolved, uint from, uint length, uint at, List<Slice> output)
    {
        var end = (ulong)from + length;
        ulong covered = from;
        var i = FirstEndingAfter(resolved, from);
        for (; i < resolved.Count && resolved[i].Pos < end; i++)
        {
            var piece = resolved[i];
            var start = Math.Max(piece.Pos, from);
            var stop = (uint)Math.Min(piece.End, end);
            if (start > covered)
                Append(output, Slice.Hole((uint)(at + (covered - from)), (uint)(start - covered)));
            var cut = Cut(piece, start, stop);
            Append(output, cut with { Pos = at + (start - from) });
            covered = stop;
        }
        if (covered < end)
            Append(output, Slice.Hole((uint)(at + (covered - from)), (uint)(end - covered)));
    }

    /// <summary>The part [from, to) of a slice, as a slice of its own; holes stay canonical holes.</summary>
    private static Slice Cut(Slice slice, uint from, uint to) => slice.Id == 0
        ? Slice.Hole(from, to - from)
        : new Slice(slice.Id, slice.Size, slice.Offset + (from - slice.Pos), to - from, from);

    /// <summary>Lays a newer piece over the sorted, non-overlapping visible list, trimming what it shadows.</summary>
    private static void Overlay(List<Slice> visible, Slice piece)
    {
        var first = FirstEndingAfter(visible, piece.Pos);
        var last = first;
        while (last < visible.Count && visible[last].Pos < piece.End)
            last++;
        if (first == last)
        {
            visible.Insert(first, piece);
            return;
        }
        var head = visible[first];
        var tail = visible[last - 1];
        Span<Slice> replacement = stackalloc Slice[3];
        var n = 0;
        if (head.Pos < piece.Pos)
            replacement[n++] = Cut(head, head.Pos, piece.Pos);
        replacement[n++] = piece;
        if (tail.End > piece.End)
            replacement[n++] = Cut(tail, piece.End, tail.End);
        var overlapped = last - first;
        var common = Math.Min(overlapped, n);
        for (var k = 0; k < common; k++)
            visible[first + k] = replacement[k];
        if (n > overlapped)
            visible.InsertRange(first + overlapped, replacement[overlapped..n].ToArray());
        else if (overlapped > n)
            visible.RemoveRange(first + n, overlapped - n);
    }

    /// <summary>Index of the first piece ending after <paramref name="pos"/> in a sorted, non-overlapping list.</summary>
    private static int FirstEndingAfter(IReadOnlyList<Slice> sorted, uint pos)
    {
        int lo = 0, hi = sorted.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid].End <= pos)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo;
    }

    private static List<Slice> FillGaps(List<Slice> visible, uint extent)
    {
        var result = new List<Slice>(visible.Count + 1);
        uint pos = 0;
        foreach (var piece in visible)
        {
            if (piece.Pos > pos)
                Append(result, Slice.Hole(pos, piece.Pos - pos));
            Append(result, piece);
            pos = piece.End;
        }
        if (extent > pos)
            Append(result, Slice.Hole(pos, extent - pos));
        return result;
    }

    /// <summary>Appends a piece, merging it into the previous one when both are holes or both continue one slice's data.</summary>
    private static void Append(List<Slice> pieces, Slice piece)
    {
        if (pieces.Count > 0)
        {
            var last = pieces[^1];
            if (last.End == piece.Pos && last.Id == piece.Id)
            {
                if (piece.Id == 0)
                {
                    pieces[^1] = Slice.Hole(last.Pos, last.Length + piece.Length);
                    return;
                }
                if (last.Size == piece.Size && last.Offset + last.Length == piece.Offset)
                {
                    pieces[^1] = last with { Length = last.Length + piece.Length };
                    return;
                }
            }
        }
        pieces.Add(piece);
    }
}
