namespace Protocols.Fuse.Kernel;

/// <summary>What this file system asks of the kernel in INIT.</summary>
public sealed record FuseInitRequest
{
    /// <summary>Largest WRITE payload; above 128 KiB it needs MAX_PAGES from the kernel.</summary>
    public int MaxWrite { get; init; } = 1 << 20;

    public ushort MaxBackground { get; init; } = 64;

    /// <summary>Capabilities wanted; only those the kernel offers are granted.</summary>
    public FuseInitFlags Wanted { get; init; } = DefaultFlags;

    /// <summary>
    /// The capabilities the door implements. Not HANDLE_KILLPRIV(_V2): without it the kernel clears setuid/setgid
    /// itself with a SETATTR before the first write, truncate or chown by an unprivileged caller, which is the exact
    /// POSIX rule; and not WRITEBACK_CACHE, which would hide writes through the mount from the other doors.
    /// </summary>
    public const FuseInitFlags DefaultFlags =
        FuseInitFlags.AsyncRead | FuseInitFlags.PosixLocks | FuseInitFlags.AtomicOTrunc | FuseInitFlags.ExportSupport |
        FuseInitFlags.BigWrites | FuseInitFlags.FlockLocks | FuseInitFlags.AutoInvalData | FuseInitFlags.DoReadDirPlus |
        FuseInitFlags.ReadDirPlusAuto | FuseInitFlags.ParallelDirOps | FuseInitFlags.MaxPages | FuseInitFlags.CacheSymlinks;
}

/// <summary>The outcome of INIT: the protocol minor both sides speak and the capabilities granted.</summary>
public sealed record FuseConnectionInfo(uint Minor, FuseInitFlags Flags, uint MaxWrite, uint MaxReadahead, ushort MaxPages)
{
    public bool Has(FuseInitFlags flag) => (Flags & flag) == flag;
}

/// <summary>The INIT handshake as a pure function of the kernel's offer, so that it can be checked against recorded bytes.</summary>
public static class FuseInitNegotiation
{
    /// <summary>Builds the INIT reply for the kernel's offer; throws <see cref="FuseMountException"/> for a protocol we cannot speak.</summary>
    public static (FuseInitOut Reply, FuseConnectionInfo Info) Negotiate(in FuseInitIn offer, FuseInitRequest request)
    {
        if (offer.Major != FuseConstants.KernelVersion)
            throw new FuseMountException($"the kernel speaks FUSE protocol {offer.Major}.{offer.Minor}; this appliance speaks only 7.x");
        if (offer.Minor < FuseConstants.MinimumMinorVersion)
            throw new FuseMountException($"the kernel's FUSE protocol 7.{offer.Minor} is older than 7.{FuseConstants.MinimumMinorVersion}, the oldest this appliance supports");
        var minor = Math.Min(offer.Minor, FuseConstants.KernelMinorVersion);
        var offered = (FuseInitFlags)offer.Flags;
        if ((offered & FuseInitFlags.InitExt) != 0)
            offered |= (FuseInitFlags)((ulong)offer.Flags2 << 32);
        var granted = request.Wanted & offered;

        var maxWrite = request.MaxWrite;
        ushort maxPages = 0;
        if ((granted & FuseInitFlags.MaxPages) != 0)
            maxPages = (ushort)Math.Min(ushort.MaxValue, (maxWrite + FuseConstants.PageSize - 1) / FuseConstants.PageSize);
        else
            maxWrite = Math.Min(maxWrite, 32 * FuseConstants.PageSize); // the kernel's request limit without MAX_PAGES

        var reply = new FuseInitOut
        {
            Major = FuseConstants.KernelVersion,
            Minor = minor,
            MaxReadahead = offer.MaxReadahead,
            Flags = (uint)granted,
            MaxBackground = request.MaxBackground,
            CongestionThreshold = (ushort)(request.MaxBackground * 3 / 4),
            MaxWrite = (uint)maxWrite,
            TimeGran = 1,
            MaxPages = maxPages,
        };
        if ((granted & FuseInitFlags.InitExt) != 0)
            reply.Flags2 = (uint)((ulong)granted >> 32);
        return (reply, new FuseConnectionInfo(minor, granted, (uint)maxWrite, offer.MaxReadahead, maxPages));
    }
}
