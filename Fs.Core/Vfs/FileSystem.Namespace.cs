using Fs.Core.Meta;

namespace Fs.Core.Vfs;

public sealed partial class FileSystem
{
    private const long DotCookie = 1;
    private const long DotDotCookie = 2;
    /// <summary>Engine cookies are shifted past the two cookies "." and ".." use.</summary>
    private const long FirstEntryCookie = 2;
    private const long UnlimitedBytes = 1L << 50;
    private const long UnlimitedInodes = 1L << 40;

    public ValueTask<Result<InodeAttr>> LookupAsync(Caller caller, ulong parent, string name, CancellationToken ct = default) =>
        Guard("lookup", parent, async () =>
        {
            var found = await _meta.LookupAsync(caller, parent, name, ct).ConfigureAwait(false);
            // /.trash has no entry in the root (so listings do not show it) but is reachable by its name.
            if (found.Error == Errno.ENOENT && parent == FsLimits.RootIno && name == TrashLayout.Name)
                return await _meta.GetAttrAsync(TrashLayout.TrashIno, ct).ConfigureAwait(false);
            return Overlay(found);
        });

    public ValueTask<Result<InodeAttr>> GetAttrAsync(ulong ino, CancellationToken ct = default) =>
        Guard("getattr", ino, async () => Overlay(await _meta.GetAttrAsync(ino, ct).ConfigureAwait(false)));

    public ValueTask<Result<InodeAttr>> SetAttrAsync(Caller caller, ulong ino, SetAttrRequest request, CancellationToken ct = default) =>
        Guard("setattr", ino, async () =>
        {
            var result = await SetAttrCoreAsync(caller, ino, request, ct).ConfigureAwait(false);
            if (result.Ok)
            {
                Notify(ChangeKind.Attributes, ino);
                if ((request.Mask & SetAttrMask.Size) != 0)
                    Notify(ChangeKind.Data, ino, offset: request.Size);
            }
            return result;
        });

    private async ValueTask<Result<InodeAttr>> SetAttrCoreAsync(Caller caller, ulong ino, SetAttrRequest request, CancellationToken ct)
    {
        const SetAttrMask committedFirst = SetAttrMask.Size | SetAttrMask.Mtime | SetAttrMask.MtimeNow;
        if ((request.Mask & committedFirst) == 0 || !_writers.TryGetValue(ino, out var writer))
            return Overlay(await _meta.SetAttrAsync(caller, ino, request, ct).ConfigureAwait(false));
        // Buffered writes are committed first so that a truncate cuts them as it cuts stored data, and so that their
        // commit does not later overwrite an mtime set explicitly (cp -a, touch -d, rsync -t while the file is open).
        await writer.Lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await writer.CommitAsync(durable: false, ct).ConfigureAwait(false);
            var result = await _meta.SetAttrAsync(caller, ino, request, ct).ConfigureAwait(false);
            // A truncate may have released slices: their blocks can go now.
            if ((request.Mask & SetAttrMask.Size) != 0)
                _deleter.Wake();
            return result;
        }
        finally
        {
            writer.Lock.Release();
        }
    }

    public ValueTask<Errno> AccessAsync(Caller caller, ulong ino, AccessMode mode, CancellationToken ct = default) =>
        Guard("access", ino, () => _meta.AccessAsync(caller, ino, mode, ct));

    public ValueTask<Result<InodeAttr>> MknodAsync(Caller caller, ulong parent, string name, FileType type, uint mode, uint rdev = 0, CancellationToken ct = default) =>
        type == FileType.Symlink
            ? new(Errno.EINVAL)
            : Guard("mknod", parent, async () => Added(parent, name, await _meta.MknodAsync(caller, parent, name, type, mode, rdev, null, ct).ConfigureAwait(false)));

    public ValueTask<Result<InodeAttr>> MkdirAsync(Caller caller, ulong parent, string name, uint mode, CancellationToken ct = default) =>
        Guard("mkdir", parent, async () => Added(parent, name, await _meta.MknodAsync(caller, parent, name, FileType.Directory, mode, 0, null, ct).ConfigureAwait(false)));

    public ValueTask<Result<InodeAttr>> SymlinkAsync(Caller caller, ulong parent, string name, string target, CancellationToken ct = default) =>
        Guard("symlink", parent, async () => Added(parent, name, await _meta.MknodAsync(caller, parent, name, FileType.Symlink, 0x1FF, 0, target, ct).ConfigureAwait(false)));

    public ValueTask<Result<string>> ReadlinkAsync(ulong ino, CancellationToken ct = default) =>
        Guard("readlink", ino, () => _meta.ReadlinkAsync(ino, ct));

    public ValueTask<Result<InodeAttr>> LinkAsync(Caller caller, ulong ino, ulong newParent, string newName, CancellationToken ct = default) =>
        Guard("link", ino, async () =>
        {
            var linked = Added(newParent, newName, await _meta.LinkAsync(caller, ino, newParent, newName, ct).ConfigureAwait(false));
            if (linked.Ok)
                Notify(ChangeKind.Attributes, ino);
            return Overlay(linked);
        });

    public ValueTask<Errno> UnlinkAsync(Caller caller, ulong parent, string name, CancellationToken ct = default) =>
        Guard("unlink", parent, async () =>
        {
            var removed = await _meta.UnlinkAsync(caller, parent, name, ct).ConfigureAwait(false);
            if (!removed.Ok)
                return removed.Error;
            Removed(parent, name, removed.Value.Attr.Ino);
            if (removed.Value.FreedData)
                _deleter.Wake();
            return Errno.OK;
        });

    public ValueTask<Errno> RmdirAsync(Caller caller, ulong parent, string name, CancellationToken ct = default) =>
        Guard("rmdir", parent, async () =>
        {
            var looked = await _meta.LookupAsync(caller, parent, name, ct).ConfigureAwait(false);
            var result = await _meta.RmdirAsync(caller, parent, name, ct).ConfigureAwait(false);
            if (result == Errno.OK)
                Removed(parent, name, looked.Ok ? looked.Value.Ino : 0);
            return result;
        });

    public ValueTask<Errno> RenameAsync(Caller caller, ulong parent, string name, ulong newParent, string newName, RenameFlags flags = RenameFlags.None, CancellationToken ct = default) =>
        Guard("rename", parent, async () =>
        {
            var moved = await _meta.LookupAsync(caller, parent, name, ct).ConfigureAwait(false);
            var replaced = await _meta.RenameAsync(caller, parent, name, newParent, newName, flags, ct).ConfigureAwait(false);
            if (!replaced.Ok)
                return replaced.Error;
            Removed(parent, name, moved.Ok ? moved.Value.Ino : 0);
            Removed(newParent, newName, replaced.Value?.Attr.Ino ?? 0);
            Notify(ChangeKind.EntryAdded, moved.Ok ? moved.Value.Ino : 0, newParent, newName);
            if ((flags & RenameFlags.Exchange) != 0)
                Notify(ChangeKind.EntryAdded, 0, parent, name);
            if (replaced.Value is { FreedData: true })
                _deleter.Wake();
            return Errno.OK;
        });

    /// <summary>
    /// One page of a directory listing, starting after <paramref name="cookie"/> (0 = from the start). The page begins
    /// with "." and ".." when starting from 0. Each entry's cookie resumes after it; cookies stay valid while the directory changes.
    /// </summary>
    public ValueTask<Result<DirPage>> ReadDirAsync(Caller caller, ulong ino, long cookie, int maxEntries, bool plus = false, CancellationToken ct = default) =>
        Guard<DirPage>("readdir", ino, async () =>
        {
            if (maxEntries <= 0 || cookie < 0)
                return Errno.EINVAL;
            var entries = new List<DirEntry>(Math.Min(maxEntries, 1024));
            if (cookie < DotDotCookie)
            {
                var self = await _meta.GetAttrAsync(ino, ct).ConfigureAwait(false);
                if (!self.Ok)
                    return self.Error;
                if (self.Value.Type != FileType.Directory)
                    return Errno.ENOTDIR;
                var access = await _meta.AccessAsync(caller, ino, AccessMode.Read, ct).ConfigureAwait(false);
                if (access != Errno.OK)
                    return access;
                if (cookie < DotCookie)
                    entries.Add(new DirEntry(".", ino, FileType.Directory, DotCookie, plus ? Overlay(self.Value) : null));
                if (entries.Count < maxEntries)
                {
                    var parentIno = self.Value.Parent == 0 ? ino : self.Value.Parent;
                    InodeAttr? parentAttr = null;
                    if (plus)
                    {
                        var p = await _meta.GetAttrAsync(parentIno, ct).ConfigureAwait(false);
                        parentAttr = p.Ok ? p.Value : null;
                    }
                    entries.Add(new DirEntry("..", parentIno, FileType.Directory, DotDotCookie, parentAttr));
                }
            }
            var want = maxEntries - entries.Count;
            var eof = true;
            if (want > 0)
            {
                // Ask for one entry more than fits to learn whether the listing is complete.
                var listed = await _meta.ReadDirAsync(caller, ino, Math.Max(0, cookie - FirstEntryCookie), want + 1, plus, ct).ConfigureAwait(false);
                if (!listed.Ok)
                    return listed.Error;
                var list = listed.Value;
                eof = list.Count <= want;
                for (var i = 0; i < Math.Min(want, list.Count); i++)
                {
                    var e = list[i];
                    entries.Add(e with { Cookie = e.Cookie + FirstEntryCookie, Attr = e.Attr is null ? null : Overlay(e.Attr) });
                }
            }
            else
            {
                eof = false;
            }
            return new DirPage(entries, eof);
        });

    public ValueTask<Result<StatFs>> StatFsAsync(CancellationToken ct = default) =>
        Guard<StatFs>("statfs", FsLimits.RootIno, async () =>
        {
            var usage = await _meta.GetUsageAsync(ct).ConfigureAwait(false);
            var total = Format.CapacityBytes > 0 ? Format.CapacityBytes : UnlimitedBytes;
            var inodes = Format.InodeLimit > 0 ? Format.InodeLimit : UnlimitedInodes;
            return new StatFs(
                total,
                Math.Max(0, total - usage.UsedBytes),
                usage.UsedInodes,
                Math.Max(0, inodes - usage.UsedInodes),
                Format.BlockSize,
                FsLimits.MaxNameBytes);
        });

    public ValueTask<Result<byte[]>> GetXattrAsync(Caller caller, ulong ino, string name, CancellationToken ct = default) =>
        Guard("getxattr", ino, () => _meta.GetXattrAsync(caller, ino, name, ct));

    public ValueTask<Errno> SetXattrAsync(Caller caller, ulong ino, string name, ReadOnlyMemory<byte> value, XattrFlags flags = XattrFlags.None, CancellationToken ct = default) =>
        Guard("setxattr", ino, () => _meta.SetXattrAsync(caller, ino, name, value, flags, ct));

    public ValueTask<Result<IReadOnlyList<string>>> ListXattrAsync(Caller caller, ulong ino, CancellationToken ct = default) =>
        Guard("listxattr", ino, () => _meta.ListXattrAsync(caller, ino, ct));

    /// <summary>
    /// The extended attributes named <paramref name="prefix"/>… of many inodes at once, as listxattr and getxattr would
    /// show them to <paramref name="caller"/>: the names it may list, each with its value where it may read it (null
    /// where not). Inodes without any are left out. One metadata round trip for a page of directory entries.
    /// </summary>
    public ValueTask<Result<IReadOnlyDictionary<ulong, IReadOnlyList<Xattr>>>> GetXattrsAsync(
        Caller caller, IReadOnlyList<InodeAttr> inodes, string prefix, CancellationToken ct = default) =>
        Guard<IReadOnlyDictionary<ulong, IReadOnlyList<Xattr>>>("getxattrs", inodes.Count > 0 ? inodes[0].Ino : 0, async () =>
        {
            var stored = await _meta.GetXattrsAsync([.. inodes.Select(i => i.Ino)], prefix, ct).ConfigureAwait(false);
            var visible = new Dictionary<ulong, IReadOnlyList<Xattr>>();
            foreach (var attr in inodes)
            {
                if (!stored.TryGetValue(attr.Ino, out var xattrs))
                    continue;
                var shown = xattrs
                    .Where(x => PermissionRules.ListsXattr(caller, x.Name))
                    .Select(x => PermissionRules.CheckXattr(caller, attr, x.Name, write: false) == Errno.OK ? x : x with { Value = null })
                    .ToList();
                if (shown.Count > 0)
                    visible[attr.Ino] = shown;
            }
            return visible;
        });

    public ValueTask<Errno> RemoveXattrAsync(Caller caller, ulong ino, string name, CancellationToken ct = default) =>
        Guard("removexattr", ino, () => _meta.RemoveXattrAsync(caller, ino, name, ct));

    private Result<InodeAttr> Added(ulong parent, string name, Result<InodeAttr> created)
    {
        if (created.Ok)
        {
            Notify(ChangeKind.EntryAdded, created.Value.Ino, parent, name);
            Notify(ChangeKind.Attributes, parent);
        }
        return created;
    }

    private void Removed(ulong parent, string name, ulong ino)
    {
        Notify(ChangeKind.EntryRemoved, ino, parent, name);
        Notify(ChangeKind.Attributes, parent);
        if (ino != 0)
            Notify(ChangeKind.Attributes, ino);
    }

    /// <summary>Shows writes still buffered in this process in the attributes: the size they reach and when they were made.</summary>
    private Result<InodeAttr> Overlay(Result<InodeAttr> attr) => attr.Ok ? Overlay(attr.Value) : attr;

    private InodeAttr Overlay(InodeAttr attr)
    {
        if (!_writers.TryGetValue(attr.Ino, out var writer) || !writer.HasPending)
            return attr;
        var size = Math.Max(attr.Size, writer.PendingLength);
        var mtime = Math.Max(attr.Mtime, writer.PendingMtime);
        return size == attr.Size && mtime == attr.Mtime ? attr : attr with { Size = size, Mtime = mtime, Ctime = Math.Max(attr.Ctime, mtime) };
    }
}
