using Fs.Core.Vfs;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Nfs3;

/// <summary>ftype3 (RFC 1813 section 2.6).</summary>
public enum Nfs3FileType : uint
{
    Reg = 1,
    Dir = 2,
    Blk = 3,
    Chr = 4,
    Lnk = 5,
    Sock = 6,
    Fifo = 7,
}

/// <summary>The attribute structures of NFSv3 on the wire: fattr3, post_op_attr, wcc_data and sattr3.</summary>
public static class Nfs3Attributes
{
    /// <summary>Bytes of an encoded fattr3.</summary>
    public const int FattrSize = 84;
    /// <summary>Bytes of a post_op_attr that carries attributes.</summary>
    public const int PostOpSize = 4 + FattrSize;

    public static Nfs3FileType ToNfs(FileType type) => type switch
    {
        FileType.Regular => Nfs3FileType.Reg,
        FileType.Directory => Nfs3FileType.Dir,
        FileType.Symlink => Nfs3FileType.Lnk,
        FileType.BlockDevice => Nfs3FileType.Blk,
        FileType.CharDevice => Nfs3FileType.Chr,
        FileType.Socket => Nfs3FileType.Sock,
        FileType.Fifo => Nfs3FileType.Fifo,
        _ => Nfs3FileType.Reg,
    };

    public static void WriteFattr(XdrWriter w, InodeAttr a, ulong fsid)
    {
        w.WriteUInt32((uint)ToNfs(a.Type));
        w.WriteUInt32(a.Mode & 0xFFF);
        w.WriteUInt32(a.Nlink);
        w.WriteUInt32(a.Uid);
        w.WriteUInt32(a.Gid);
        w.WriteUInt64((ulong)a.Size);
        w.WriteUInt64((ulong)(a.Blocks * 512));
        // Linux dev_t layout: 12 bits of major above the low 8 bits of minor, the rest of minor above those.
        w.WriteUInt32((a.Rdev >> 8) & 0xFFF);
        w.WriteUInt32((a.Rdev & 0xFF) | ((a.Rdev >> 12) & 0xFFF00));
        w.WriteUInt64(fsid);
        w.WriteUInt64(a.Ino);
        WriteTime(w, a.Atime);
        WriteTime(w, a.Mtime);
        WriteTime(w, a.Ctime);
    }

    public static void WritePostOp(XdrWriter w, InodeAttr? a, ulong fsid)
    {
        w.WriteBool(a is not null);
        if (a is not null)
            WriteFattr(w, a, fsid);
    }

    /// <summary>wcc_data: the size and times before the operation (if known) and the full attributes after it.</summary>
    public static void WriteWcc(XdrWriter w, InodeAttr? before, InodeAttr? after, ulong fsid)
    {
        w.WriteBool(before is not null);
        if (before is not null)
        {
            w.WriteUInt64((ulong)before.Size);
            WriteTime(w, before.Mtime);
            WriteTime(w, before.Ctime);
        }
        WritePostOp(w, after, fsid);
    }

    public static void WriteTime(XdrWriter w, long nanos)
    {
        var (seconds, ns) = UnixTime.Split(nanos);
        w.WriteUInt32((uint)seconds);
        w.WriteUInt32(ns);
    }

    public static long ReadTime(ref XdrReader r)
    {
        var seconds = r.ReadUInt32();
        var nanos = r.ReadUInt32();
        if (nanos >= 1_000_000_000)
            throw new XdrException($"nfstime3 with {nanos} nanoseconds");
        return UnixTime.Join(seconds, nanos);
    }

    /// <summary>Decodes sattr3 into a setattr request (the mask holds only what the client asked to set).</summary>
    public static SetAttrRequest ReadSattr(ref XdrReader r)
    {
        var mask = SetAttrMask.None;
        uint mode = 0, uid = 0, gid = 0;
        long size = 0, atime = 0, mtime = 0;
        if (r.ReadBool())
        {
            mask |= SetAttrMask.Mode;
            mode = r.ReadUInt32() & 0xFFF;
        }
        if (r.ReadBool())
        {
            mask |= SetAttrMask.Uid;
            uid = r.ReadUInt32();
        }
        if (r.ReadBool())
        {
            mask |= SetAttrMask.Gid;
            gid = r.ReadUInt32();
        }
        if (r.ReadBool())
        {
            mask |= SetAttrMask.Size;
            size = (long)Math.Min(r.ReadUInt64(), long.MaxValue);
        }
        switch (r.ReadUInt32())
        {
            case 0:
                break;
            case 1:
                mask |= SetAttrMask.AtimeNow;
                break;
            case 2:
                mask |= SetAttrMask.Atime;
                atime = ReadTime(ref r);
                break;
            case var how:
                throw new XdrException($"time_how {how}");
        }
        switch (r.ReadUInt32())
        {
            case 0:
                break;
            case 1:
                mask |= SetAttrMask.MtimeNow;
                break;
            case 2:
                mask |= SetAttrMask.Mtime;
                mtime = ReadTime(ref r);
                break;
            case var how:
                throw new XdrException($"time_how {how}");
        }
        return new SetAttrRequest(mask, mode, uid, gid, size, atime, mtime);
    }
}
