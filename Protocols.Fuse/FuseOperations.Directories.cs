using System.Runtime.InteropServices;
using System.Text;
using Fs.Core.Vfs;
using Protocols.Fuse.Kernel;

namespace Protocols.Fuse;

// OPENDIR, READDIR, READDIRPLUS, RELEASEDIR, FSYNCDIR.
internal sealed partial class FuseOperations
{
    /// <summary>Most entries asked of the core for one READDIR page.</summary>
    private const int MaxEntriesPerPage = 512;

    /// <summary>
    /// Directories need no open state: the core's listing cookies are stable, so the READDIR offset is simply the
    /// cookie of the last entry the kernel received. OPENDIR only checks the caller may list the directory.
    /// </summary>
    private async ValueTask OpenDirAsync(FuseRequest request)
    {
        var attr = await _fs.GetAttrAsync(request.NodeId).ConfigureAwait(false);
        if (!attr.Ok)
        {
            request.Fail((int)attr.Error);
            return;
        }
        if (attr.Value.Type != FileType.Directory)
        {
            request.Fail((int)Errno.ENOTDIR);
            return;
        }
        var access = await _fs.AccessAsync(CallerOf(request), request.NodeId, AccessMode.Read).ConfigureAwait(false);
        if (access != Errno.OK)
        {
            request.Fail((int)access);
            return;
        }
        request.Reply(new FuseOpenOut());
    }

    private async ValueTask ReadDirAsync(FuseRequest request, bool plus)
    {
        var input = request.Read<FuseReadIn>();
        var size = (int)Math.Min(input.Size, (uint)request.ReplyBody.Length);
        var smallest = plus ? EntrySize + FuseDirent.NameOffset + 8 : FuseDirent.NameOffset + 8;
        var want = Math.Clamp(size / smallest, 1, MaxEntriesPerPage);
        var page = await _fs.ReadDirAsync(CallerOf(request), request.NodeId, (long)input.Offset, want, plus).ConfigureAwait(false);
        if (!page.Ok)
        {
            request.Fail((int)page.Error);
            return;
        }
        var body = request.ReplyBody[..size];
        var used = 0;
        foreach (var entry in page.Value.Entries)
        {
            var written = plus ? WriteDirentPlus(body[used..], entry) : WriteDirent(body[used..], entry);
            if (written == 0)
                break; // the rest comes with the next READDIR, from this entry's predecessor's cookie
            used += written;
        }
        request.Reply(used);
    }

    private ValueTask ReleaseDir(FuseRequest request)
    {
        request.Reply(0);
        return default;
    }

    /// <summary>Every directory change is committed by the metadata engine before it is answered; there is nothing left to sync.</summary>
    private ValueTask FsyncDir(FuseRequest request)
    {
        request.Reply(0);
        return default;
    }

    /// <summary>Packs one fuse_dirent; returns its padded length, or 0 when it does not fit.</summary>
    internal static int WriteDirent(Span<byte> destination, DirEntry entry)
    {
        var nameLength = Encoding.UTF8.GetByteCount(entry.Name);
        var length = Align8(FuseDirent.NameOffset + nameLength);
        if (length > destination.Length)
            return 0;
        MemoryMarshal.Write(destination, new FuseDirent
        {
            Ino = entry.Ino,
            Off = (ulong)entry.Cookie,
            NameLen = (uint)nameLength,
            Type = InodeAttr.TypeBits(entry.Type) >> 12,
        });
        var name = destination[FuseDirent.NameOffset..length];
        name.Clear();
        Encoding.UTF8.GetBytes(entry.Name, name);
        return length;
    }

    /// <summary>
    /// Packs one fuse_direntplus. Every entry given with attributes counts as a lookup, except "." and "..", which the
    /// kernel never links (they go with node id 0).
    /// </summary>
    private int WriteDirentPlus(Span<byte> destination, DirEntry entry)
    {
        var nameLength = Encoding.UTF8.GetByteCount(entry.Name);
        if (Align8(EntrySize + FuseDirent.NameOffset + nameLength) > destination.Length)
            return 0;
        var linked = entry.Attr is not null && entry.Name is not ("." or "..");
        MemoryMarshal.Write(destination, linked ? Entry(entry.Attr!) : new FuseEntryOut());
        var length = EntrySize + WriteDirent(destination[EntrySize..], entry);
        if (linked)
            _inodes.Remember(entry.Ino);
        return length;
    }

    private static int Align8(int length) => (length + 7) & ~7;
}
