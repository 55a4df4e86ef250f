using System.Text;
using Fs.Core.Vfs;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Nfs3;

public sealed partial class Nfs3Program
{
    /// <summary>Entries asked of the file system per page; a reply usually needs one or two pages.</summary>
    private const int MaxPageEntries = 4096;
    /// <summary>Bytes of a READDIR reply around the entries: status, post_op_attr, cookieverf, list end, eof.</summary>
    private const int ReadDirFixedBytes = 4 + Nfs3Attributes.PostOpSize + 8 + 4 + 4;

    /// <summary>READDIR (procedure 16).</summary>
    private ValueTask ReadDir(Nfs3Context ctx, XdrReader args, XdrWriter reply)
    {
        var dir = ReadHandle(ctx, ref args);
        var cookie = args.ReadUInt64();
        var verifier = args.ReadFixedOpaque(8);
        var count = args.ReadUInt32();
        return ListAsync(ctx, reply, dir, cookie, verifier, count, count, plus: false);
    }

    /// <summary>READDIRPLUS (procedure 17): entries with attributes and handles, so `ls -l` needs no LOOKUP per name.</summary>
    private ValueTask ReadDirPlus(Nfs3Context ctx, XdrReader args, XdrWriter reply)
    {
        var dir = ReadHandle(ctx, ref args);
        var cookie = args.ReadUInt64();
        var verifier = args.ReadFixedOpaque(8);
        var dirCount = args.ReadUInt32();
        var maxCount = args.ReadUInt32();
        return ListAsync(ctx, reply, dir, cookie, verifier, dirCount, maxCount, plus: true);
    }

    /// <summary>
    /// Fills one reply with as many entries as fit exactly: each entry's XDR size is computed before it is written,
    /// against <paramref name="maxCount"/> for the whole reply and, for READDIRPLUS, <paramref name="dirCount"/> for the
    /// names and cookies alone. Cookies are the file system's own, which stay valid while the directory changes.
    /// </summary>
    private async ValueTask ListAsync(Nfs3Context ctx, XdrWriter reply, ulong dir, ulong cookie, ReadOnlyMemory<byte> verifier,
        uint dirCount, uint maxCount, bool plus)
    {
        if (dir == 0)
        {
            WriteStatus(reply, Nfs3Status.BadHandle);
            WritePostOp(reply, null);
            return;
        }
        var attr = await _fs.GetAttrAsync(dir, ctx.Ct).ConfigureAwait(false);
        if (!attr.Ok)
        {
            WriteStatus(reply, HandleStatus(attr.Error));
            WritePostOp(reply, null);
            return;
        }
        var status = Nfs3Status.Ok;
        if (attr.Value.Type != FileType.Directory)
            status = Nfs3Status.NotDir;
        else if (cookie != 0 && !verifier.Span.SequenceEqual(_cookieVerifier) && verifier.Span.IndexOfAnyExcept((byte)0) >= 0)
            status = Nfs3Status.BadCookie;
        else if (cookie > long.MaxValue)
            status = Nfs3Status.BadCookie;
        var budget = (long)Math.Min(maxCount, MaxTransfer) - ReadDirFixedBytes;
        var dirBudget = plus ? (long)dirCount : long.MaxValue;
        if (status == Nfs3Status.Ok && budget < EntrySize(1, plus))
            status = Nfs3Status.TooSmall;
        if (status != Nfs3Status.Ok)
        {
            WriteStatus(reply, status);
            WritePostOp(reply, attr.Value);
            return;
        }

        var start = reply.Position;
        WriteStatus(reply, Nfs3Status.Ok);
        WritePostOp(reply, attr.Value);
        reply.WriteFixedOpaque(_cookieVerifier);
        var position = (long)cookie;
        var written = 0;
        var eof = false;
        var full = false;
        while (!full && !eof)
        {
            var want = (int)Math.Clamp(budget / EntrySize(12, plus) + 1, 1, MaxPageEntries);
            var page = await _fs.ReadDirAsync(ctx.Caller, dir, position, want, plus, ctx.Ct).ConfigureAwait(false);
            if (!page.Ok)
            {
                reply.Position = start;
                WriteStatus(reply, HandleStatus(page.Error));
                WritePostOp(reply, attr.Value);
                return;
            }
            foreach (var listed in page.Value.Entries)
            {
                // The export's root lists itself as "..", so READDIRPLUS hands out no handle above the export.
                var entry = listed.Name == ".." && dir == ctx.ExportRoot ? listed with { Ino = dir, Attr = attr.Value } : listed;
                var nameBytes = Encoding.UTF8.GetByteCount(entry.Name);
                var size = EntrySize(nameBytes, plus);
                var dirSize = EntrySize(nameBytes, plus: false);
                if (size > budget || dirSize > dirBudget)
                {
                    full = true;
                    break;
                }
                budget -= size;
                dirBudget -= dirSize;
                reply.WriteBool(true);
                reply.WriteUInt64(entry.Ino);
                reply.WriteString(entry.Name);
                reply.WriteUInt64((ulong)entry.Cookie);
                if (plus)
                {
                    WritePostOp(reply, entry.Attr);
                    reply.WriteBool(true);
                    WriteHandle(ctx, reply, entry.Ino);
                }
                position = entry.Cookie;
                written++;
            }
            eof = !full && page.Value.Eof;
        }
        if (written == 0 && !eof)
        {
            reply.Position = start;
            WriteStatus(reply, Nfs3Status.TooSmall);
            WritePostOp(reply, attr.Value);
            return;
        }
        reply.WriteBool(false);
        reply.WriteBool(eof);
    }

    /// <summary>XDR bytes of one entry3 (or entryplus3 with attributes and a handle), its value_follows flag included.</summary>
    private static long EntrySize(int nameBytes, bool plus)
    {
        long size = 4 + 8 + 4 + nameBytes + XdrReader.Padding(nameBytes) + 8;
        if (plus)
            size += Nfs3Attributes.PostOpSize + 4 + 4 + Nfs3FileHandles.Size;
        return size;
    }
}
