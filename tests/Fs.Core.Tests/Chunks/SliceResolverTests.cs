using Fs.Core.Chunks;
using Fs.Core.Meta;

namespace Fs.Core.Tests.Chunks;

public class SliceResolverTests
{
    [Fact]
    public void Later_slice_shadows_the_middle_of_an_earlier_one()
    {
        var pieces = SliceResolver.Resolve([new Slice(1, 100, 0, 100, 0), new Slice(2, 10, 0, 10, 40)], 1000);
        Assert.Equal(
        [
            new Slice(1, 100, 0, 40, 0),
            new Slice(2, 10, 0, 10, 40),
            new Slice(1, 100, 50, 50, 50),
        ], pieces);
    }

    [Fact]
    public void Gaps_become_holes_and_coverage_stops_at_the_last_end()
    {
        var pieces = SliceResolver.Resolve([new Slice(7, 20, 5, 10, 30)], 1000);
        Assert.Equal([Slice.Hole(0, 30), new Slice(7, 20, 5, 10, 30)], pieces);
    }

    [Fact]
    public void Hole_slice_shadows_data_and_merges_with_neighbouring_gaps()
    {
        var pieces = SliceResolver.Resolve([new Slice(1, 50, 0, 50, 10), Slice.Hole(0, 30)], 1000);
        Assert.Equal([Slice.Hole(0, 30), new Slice(1, 50, 20, 30, 30)], pieces);
    }

    [Fact]
    public void Chunk_length_clips_pieces()
    {
        var pieces = SliceResolver.Resolve([new Slice(1, 100, 0, 100, 0), new Slice(2, 100, 0, 100, 150)], 120);
        Assert.Equal([new Slice(1, 100, 0, 100, 0), Slice.Hole(100, 20)], pieces);
    }

    [Fact]
    public void Empty_list_resolves_to_nothing() => Assert.Empty(SliceResolver.Resolve([], 100));

    [Fact]
    public void Extract_moves_a_window_and_fills_uncovered_parts_with_holes()
    {
        var resolved = SliceResolver.Resolve([new Slice(1, 100, 0, 100, 10)], 1000);
        var output = new List<Slice>();
        SliceResolver.Extract(resolved, 5, 200, 1000, output);
        Assert.Equal([Slice.Hole(1000, 5), new Slice(1, 100, 0, 100, 1005), Slice.Hole(1105, 95)], output);
    }

    [Fact]
    public void Random_slice_lists_match_a_byte_model()
    {
        var random = new Random(12345);
        for (var round = 0; round < 3000; round++)
        {
            var chunkLength = (uint)random.Next(1, 300);
            var slices = new List<Slice>();
            var count = random.Next(0, 12);
            for (var i = 0; i < count; i++)
            {
                var pos = (uint)random.Next(0, 320);
                var length = (uint)random.Next(0, 80);
                if (random.Next(5) == 0)
                {
                    slices.Add(Slice.Hole(pos, length));
                    continue;
                }
                var size = length + (uint)random.Next(0, 40);
                var offset = (uint)random.Next(0, (int)(size - length) + 1);
                slices.Add(new Slice((ulong)i + 1, size, offset, length, pos));
            }

            var expected = Model(slices, chunkLength, out var extent);
            var pieces = SliceResolver.Resolve(slices, chunkLength);
            AssertWellFormed(pieces, extent);
            Assert.Equal(expected, Render(pieces, extent));

            // Any window of the resolved list reads as the same bytes moved elsewhere.
            var from = (uint)random.Next(0, (int)chunkLength);
            var length2 = (uint)random.Next(1, 100);
            var at = (uint)random.Next(0, 1000);
            var window = new List<Slice>();
            SliceResolver.Extract(pieces, from, length2, at, window);
            AssertWellFormed(window, length2, at);
            var moved = Render(window, at + length2);
            for (var k = 0; k < length2; k++)
                Assert.Equal(from + k < extent ? expected[from + k] : (byte)0, moved[at + k]);
        }
    }

    private static byte DataOf(ulong id, long offsetInSlice) => (byte)(id * 37 + (ulong)offsetInSlice * 11 + 1);

    private static byte[] Model(List<Slice> slices, uint chunkLength, out uint extent)
    {
        var bytes = new byte[400];
        extent = 0;
        foreach (var s in slices)
        {
            for (var k = 0u; k < s.Length; k++)
                bytes[s.Pos + k] = s.Id == 0 ? (byte)0 : DataOf(s.Id, s.Offset + k);
            if (s.Length > 0)
                extent = Math.Max(extent, s.End);
        }
        extent = Math.Min(extent, chunkLength);
        return bytes[..(int)extent];
    }

    private static byte[] Render(IReadOnlyList<Slice> pieces, uint length)
    {
        var bytes = new byte[length];
        foreach (var p in pieces)
            for (var k = 0u; k < p.Length; k++)
                bytes[p.Pos + k] = p.Id == 0 ? (byte)0 : DataOf(p.Id, p.Offset + k);
        return bytes;
    }

    private static void AssertWellFormed(IReadOnlyList<Slice> pieces, uint length, uint start = 0)
    {
        var pos = start;
        Slice? previous = null;
        foreach (var p in pieces)
        {
            Assert.Equal(pos, p.Pos);
            Assert.True(p.Length > 0);
            if (p.Id == 0)
                Assert.Equal(Slice.Hole(p.Pos, p.Length), p);
            else
                Assert.True((ulong)p.Offset + p.Length <= p.Size);
            if (previous is { Id: 0 } prev)
                Assert.False(p.Id == 0 && prev.End == p.Pos, "adjacent holes should be merged");
            pos = p.End;
            previous = p;
        }
        Assert.Equal(start + length, pos);
    }
}
