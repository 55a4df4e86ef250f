using Fs.Core.Vfs;

namespace Fs.Core.Tests.Vfs;

/// <summary>
/// The reference content of one file: fixed-size pages that exist only where data was written, so a 12 MiB sparse file
/// costs the model only what was written into it. Missing pages read as zeros.
/// </summary>
internal sealed class SparseContent
{
    private const int PageSize = 64 * 1024;
    private readonly Dictionary<long, byte[]> _pages = [];

    public long Length { get; private set; }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        var end = offset + data.Length;
        var position = offset;
        while (!data.IsEmpty)
        {
            var page = position / PageSize;
            var inPage = (int)(position % PageSize);
            var count = Math.Min(PageSize - inPage, data.Length);
            if (!_pages.TryGetValue(page, out var bytes))
                _pages[page] = bytes = new byte[PageSize];
            data[..count].CopyTo(bytes.AsSpan(inPage));
            data = data[count..];
            position += count;
        }
        Length = Math.Max(Length, end);
    }

    /// <summary>Fills <paramref name="destination"/> with the content at <paramref name="offset"/>; the range must lie inside the file.</summary>
    public void Read(long offset, Span<byte> destination)
    {
        var position = offset;
        while (!destination.IsEmpty)
        {
            var page = position / PageSize;
            var inPage = (int)(position % PageSize);
            var count = Math.Min(PageSize - inPage, destination.Length);
            if (_pages.TryGetValue(page, out var bytes))
                bytes.AsSpan(inPage, count).CopyTo(destination);
            else
                destination[..count].Clear();
            destination = destination[count..];
            position += count;
        }
    }

    /// <summary>Zeros a range inside the file (a punched hole); the length does not change.</summary>
    public void Zero(long offset, long length)
    {
        var end = Math.Min(offset + length, Length);
        for (var position = offset; position < end;)
        {
            var page = position / PageSize;
            var inPage = (int)(position % PageSize);
            var count = (int)Math.Min(PageSize - inPage, end - position);
            if (_pages.TryGetValue(page, out var bytes))
            {
                if (count == PageSize)
                    _pages.Remove(page);
                else
                    bytes.AsSpan(inPage, count).Clear();
            }
            position += count;
        }
    }

    /// <summary>truncate(2): cut bytes past the new length, so growing again later reads zeros there.</summary>
    public void Resize(long length)
    {
        if (length < Length)
            Zero(length, Length - length);
        Length = length;
    }
}

/// <summary>One inode of the reference model: a directory with its entries, or a regular file with its content.</summary>
internal sealed class ModelInode(ulong ino, FileType type)
{
    public ulong Ino { get; } = ino;

    public FileType Type { get; } = type;

    public bool IsDirectory => Type == FileType.Directory;

    /// <summary>Entries of a directory, by name.</summary>
    public SortedDictionary<string, ModelInode> Children { get; } = new(StringComparer.Ordinal);

    /// <summary>The directory holding a directory (directories have exactly one name); null for the root and for files.</summary>
    public ModelInode? Parent { get; set; }

    public SparseContent Content { get; } = new();

    /// <summary>Names of a regular file.</summary>
    public int Links { get; set; }

    /// <summary>Handles of this file the driver holds open.</summary>
    public int OpenCount { get; set; }

    public uint Nlink => IsDirectory ? 2u + (uint)Children.Values.Count(c => c.IsDirectory) : (uint)Links;

    public bool IsAncestorOrSelfOf(ModelInode dir)
    {
        for (var d = dir; d is not null; d = d.Parent)
            if (d == this)
                return true;
        return false;
    }

    public int Depth
    {
        get
        {
            var depth = 0;
            for (var d = Parent; d is not null; d = d.Parent)
                depth++;
            return depth;
        }
    }
}
