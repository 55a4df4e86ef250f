using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Nlm;

/// <summary>nlm4_stats (XNFS, NLM version 4).</summary>
public enum NlmStatus : uint
{
    Granted = 0,
    Denied = 1,
    DeniedNoLocks = 2,
    Blocked = 3,
    DeniedGracePeriod = 4,
    Deadlock = 5,
    ReadOnlyFs = 6,
    StaleFh = 7,
    FBig = 8,
    Failed = 9,
}

/// <summary>nlm4_lock: who (caller name, owner handle, svid) locks which bytes of which file.</summary>
public sealed record NlmLock(string CallerName, ReadOnlyMemory<byte> FileHandle, byte[] OwnerHandle, int Svid, ulong Offset, ulong Length)
{
    /// <summary>netobj and LM_MAXSTRLEN limits of the protocol.</summary>
    public const int MaxNetObj = 1024;
    public const int MaxString = 1024;

    public static NlmLock Read(ref XdrReader r) => new(
        r.ReadString(MaxString),
        r.ReadOpaque(MaxNetObj),
        r.ReadOpaque(MaxNetObj).ToArray(),
        r.ReadInt32(),
        r.ReadUInt64(),
        r.ReadUInt64());

    public void Write(XdrWriter w)
    {
        w.WriteString(CallerName);
        w.WriteOpaque(FileHandle.Span);
        w.WriteOpaque(OwnerHandle);
        w.WriteInt32(Svid);
        w.WriteUInt64(Offset);
        w.WriteUInt64(Length);
    }

    /// <summary>The byte range as the lock manager takes it: exclusive end, long.MaxValue for "to end of file" (length 0).</summary>
    public bool TryGetRange(out long start, out long end)
    {
        start = 0;
        end = long.MaxValue;
        if (Offset > long.MaxValue)
            return false;
        start = (long)Offset;
        if (Length == 0)
            return true;
        if (Length > (ulong)(long.MaxValue - start))
            return true;
        end = start + (long)Length;
        return true;
    }
}
