using Fs.Core.Meta;
using Fs.Core.Vfs;

namespace Fs.Core.Chunks;

/// <summary>The engine-independent part of copy_file_range: which bytes are copied and which slice pieces each destination chunk gets.</summary>
public static class CopyPlan
{
    /// <summary>Checks a copy between two regular files and gives the bytes it copies (short at the end of the source).</summary>
    public static Errno Check(InodeAttr source, InodeAttr target, long srcOffset, long dstOffset, long length, out long count)
    {
        count = srcOffset >= source.Size ? 0 : Math.Min(length, source.Size - srcOffset);
        if (source.Ino == target.Ino && srcOffset < dstOffset + count && dstOffset < srcOffset + count)
            return Errno.EINVAL;
        if (count > 0 && dstOffset > FsLimits.MaxFileSize - count)
            return Errno.EFBIG;
        return Errno.OK;
    }

    /// <summary>The source chunks a copy of <paramref name="count"/> bytes from <paramref name="srcOffset"/> reads.</summary>
    public static IEnumerable<uint> SourceChunks(long srcOffset, long count)
    {
        for (var index = ChunkLayout.ChunkIndex(srcOffset); count > 0 && index <= ChunkLayout.ChunkIndex(srcOffset + count - 1); index++)
            yield return index;
    }

    /// <summary>
    /// The slice pieces to append to each destination chunk, sharing the source's slice ids (holes stay holes), given the
    /// stored slices of every chunk <see cref="SourceChunks"/> named.
    /// </summary>
    public static SortedDictionary<uint, List<Slice>> Build(
        long srcOffset, long dstOffset, long count, long sourceSize, IReadOnlyDictionary<uint, IReadOnlyList<Slice>> sourceSlices)
    {
        const long chunkSize = ChunkLayout.ChunkSize;
        var resolved = new Dictionary<uint, IReadOnlyList<Slice>>();
        var appended = new SortedDictionary<uint, List<Slice>>();
        for (long done = 0; done < count;)
        {
            var from = srcOffset + done;
            var to = dstOffset + done;
            var srcIndex = (uint)(from / chunkSize);
            var srcPos = (uint)(from % chunkSize);
            var dstIndex = (uint)(to / chunkSize);
            var dstPos = (uint)(to % chunkSize);
            var n = Math.Min(count - done, Math.Min(chunkSize - srcPos, chunkSize - dstPos));
            if (!resolved.TryGetValue(srcIndex, out var visible))
            {
                var chunkLength = (uint)Math.Min(chunkSize, sourceSize - srcIndex * chunkSize);
                visible = SliceResolver.Resolve(sourceSlices[srcIndex], chunkLength);
                resolved.Add(srcIndex, visible);
            }
            if (!appended.TryGetValue(dstIndex, out var pieces))
                appended.Add(dstIndex, pieces = []);
            SliceResolver.Extract(visible, srcPos, (uint)n, dstPos, pieces);
            done += n;
        }
        return appended;
    }
}
