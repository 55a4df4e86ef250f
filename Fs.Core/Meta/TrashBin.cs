using Fs.Core.Vfs;

namespace Fs.Core.Meta;

/// <summary>
/// The trash as an operator sees it: what it holds, putting entries back where they were removed from, and emptying the
/// hours older than the volume keeps. Works through any <see cref="IMetaEngine"/>, as root.
/// </summary>
public sealed class TrashBin(IMetaEngine meta)
{
    private const int Page = 1024;

    /// <summary>The hour directories of the trash, oldest first (none when nothing was ever trashed).</summary>
    public async Task<IReadOnlyList<TrashHour>> ListHoursAsync(CancellationToken ct)
    {
        var hours = new List<TrashHour>();
        await foreach (var e in ListAsync(TrashLayout.TrashIno, ct).ConfigureAwait(false))
            if (e.Type == FileType.Directory && TrashLayout.TryParseHour(e.Name, out var start))
                hours.Add(new TrashHour(e.Name, e.Ino, start));
        hours.Sort((a, b) => a.StartUtc.CompareTo(b.StartUtc));
        return hours;
    }

    /// <summary>The entries of one hour directory.</summary>
    public async Task<IReadOnlyList<TrashEntry>> ListEntriesAsync(TrashHour hour, CancellationToken ct)
    {
        var entries = new List<TrashEntry>();
        await foreach (var e in ListAsync(hour.Ino, ct).ConfigureAwait(false))
        {
            var parsed = TrashLayout.TryParseEntry(e.Name, out var parent, out _, out var name);
            entries.Add(new TrashEntry(hour, e.Name, e.Ino, e.Type, parsed ? parent : 0, parsed ? name : null));
        }
        return entries;
    }

    /// <summary>
    /// Puts an entry back under its original directory and name. EEXIST when that name is taken again, ENOENT when the
    /// directory is gone, EINVAL when the entry's name does not say where it came from.
    /// </summary>
    public async Task<Errno> RestoreAsync(TrashEntry entry, CancellationToken ct)
    {
        if (entry.OriginalName is null)
            return Errno.EINVAL;
        var moved = await meta.RenameAsync(Caller.Root, entry.Hour.Ino, entry.Name, entry.OriginalParent, entry.OriginalName,
            RenameFlags.NoReplace, ct).ConfigureAwait(false);
        return moved.Error;
    }

    /// <summary>Removes the hour directory when nothing is left in it; a trash hour still holding entries stays.</summary>
    public async Task RemoveIfEmptyAsync(TrashHour hour, CancellationToken ct) =>
        await meta.RmdirAsync(Caller.Root, TrashLayout.TrashIno, hour.Name, ct).ConfigureAwait(false);

    /// <summary>
    /// Deletes every entry of the hours that started more than <paramref name="keep"/> before <paramref name="nowUtc"/>, and
    /// those hour directories; returns how many entries went. Deleting inside the trash is final (it never re-trashes).
    /// </summary>
    public async Task<int> EmptyExpiredAsync(DateTime nowUtc, TimeSpan keep, CancellationToken ct)
    {
        var removed = 0;
        foreach (var hour in await ListHoursAsync(ct).ConfigureAwait(false))
        {
            if (hour.StartUtc >= nowUtc - keep)
                break;
            foreach (var entry in await ListEntriesAsync(hour, ct).ConfigureAwait(false))
            {
                var gone = entry.Type == FileType.Directory
                    ? await meta.RmdirAsync(Caller.Root, hour.Ino, entry.Name, ct).ConfigureAwait(false)
                    : (await meta.UnlinkAsync(Caller.Root, hour.Ino, entry.Name, ct).ConfigureAwait(false)).Error;
                if (gone == Errno.OK)
                    removed++;
            }
            await RemoveIfEmptyAsync(hour, ct).ConfigureAwait(false);
        }
        return removed;
    }

    private async IAsyncEnumerable<DirEntry> ListAsync(ulong dir, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        long cookie = 0;
        while (true)
        {
            var page = await meta.ReadDirAsync(Caller.Root, dir, cookie, Page, plus: false, ct).ConfigureAwait(false);
            if (page.Error == Errno.ENOENT && dir == TrashLayout.TrashIno)
                yield break;
            if (!page.TryGet(out var entries))
                throw new FsException(page.Error, $"listing trash directory {dir}: {page.Error}");
            foreach (var e in entries)
                yield return e;
            if (entries.Count < Page)
                yield break;
            cookie = entries[^1].Cookie;
        }
    }
}

/// <summary>One hour directory of the trash: names removed during the hour starting at <see cref="StartUtc"/>.</summary>
public sealed record TrashHour(string Name, ulong Ino, DateTime StartUtc);

/// <summary>One removed name in the trash, with the directory and name it was removed from (null when unparseable).</summary>
public sealed record TrashEntry(TrashHour Hour, string Name, ulong Ino, FileType Type, ulong OriginalParent, string? OriginalName);
