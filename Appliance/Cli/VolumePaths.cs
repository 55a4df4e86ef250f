using Fs.Core.Vfs;

namespace Appliance.Cli;

/// <summary>Paths inside the volume, walked from the root as root, for commands that take one (warmup).</summary>
internal static class VolumePaths
{
    public static async Task<Result<InodeAttr>> ResolveAsync(FileSystem fs, string path, CancellationToken ct)
    {
        var current = await fs.GetAttrAsync(FsLimits.RootIno, ct).ConfigureAwait(false);
        foreach (var name in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!current.TryGet(out var dir))
                return current;
            if (dir.Type != FileType.Directory)
                return Errno.ENOTDIR;
            current = await fs.LookupAsync(Caller.Root, dir.Ino, name, ct).ConfigureAwait(false);
        }
        return current;
    }

    /// <summary>Every regular file at or below <paramref name="start"/>, depth first.</summary>
    public static async IAsyncEnumerable<InodeAttr> RegularFilesAsync(FileSystem fs, InodeAttr start, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var pending = new Stack<InodeAttr>();
        pending.Push(start);
        while (pending.TryPop(out var attr))
        {
            if (attr.Type == FileType.Regular)
            {
                yield return attr;
                continue;
            }
            if (attr.Type != FileType.Directory)
                continue;
            long cookie = 0;
            while (true)
            {
                var page = await fs.ReadDirAsync(Caller.Root, attr.Ino, cookie, 1024, plus: true, ct).ConfigureAwait(false);
                if (!page.TryGet(out var listed))
                    throw new FsException(page.Error, $"listing inode {attr.Ino}: {page.Error}");
                foreach (var e in listed.Entries)
                    if (e.Name is not "." and not ".." && e.Attr is not null)
                        pending.Push(e.Attr);
                if (listed.Eof || listed.Entries.Count == 0)
                    break;
                cookie = listed.Entries[^1].Cookie;
            }
        }
    }
}
