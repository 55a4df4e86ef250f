using System.Runtime.InteropServices;
using Protocols.Fuse.Kernel;

namespace Protocols.Fuse.Tests.Kernel;

public class FuseInitNegotiationTests
{
    /// <summary>An INIT request as a 6.x kernel sends it: header, then fuse_init_in with flags and flags2.</summary>
    private static byte[] RecordedInit(uint minor, FuseInitFlags offered, uint maxReadahead = 128 * 1024)
    {
        var bytes = new byte[40 + 64];
        BitConverter.TryWriteBytes(bytes.AsSpan(0), (uint)bytes.Length);
        BitConverter.TryWriteBytes(bytes.AsSpan(4), 26u); // FUSE_INIT
        BitConverter.TryWriteBytes(bytes.AsSpan(8), 2UL); // unique
        BitConverter.TryWriteBytes(bytes.AsSpan(40), 7u);
        BitConverter.TryWriteBytes(bytes.AsSpan(44), minor);
        BitConverter.TryWriteBytes(bytes.AsSpan(48), maxReadahead);
        BitConverter.TryWriteBytes(bytes.AsSpan(52), (uint)((ulong)offered & 0xFFFFFFFF));
        BitConverter.TryWriteBytes(bytes.AsSpan(56), (uint)((ulong)offered >> 32));
        return bytes;
    }

    private static FuseInitIn Decode(byte[] request)
    {
        var header = MemoryMarshal.Read<FuseInHeader>(request);
        Assert.Equal(FuseOpcode.Init, header.Opcode);
        return MemoryMarshal.Read<FuseInitIn>(request.AsSpan(FuseInHeader.Size));
    }

    private static byte[] Encode(FuseInitOut reply)
    {
        var bytes = new byte[64];
        MemoryMarshal.Write(bytes, in reply);
        return bytes;
    }

    private const FuseInitFlags ModernKernel =
        FuseInitFlags.AsyncRead | FuseInitFlags.PosixLocks | FuseInitFlags.AtomicOTrunc | FuseInitFlags.ExportSupport |
        FuseInitFlags.BigWrites | FuseInitFlags.DontMask | FuseInitFlags.SpliceWrite | FuseInitFlags.SpliceMove |
        FuseInitFlags.SpliceRead | FuseInitFlags.FlockLocks | FuseInitFlags.HasIoctlDir | FuseInitFlags.AutoInvalData |
        FuseInitFlags.DoReadDirPlus | FuseInitFlags.ReadDirPlusAuto | FuseInitFlags.AsyncDio | FuseInitFlags.WritebackCache |
        FuseInitFlags.NoOpenSupport | FuseInitFlags.ParallelDirOps | FuseInitFlags.HandleKillPriv | FuseInitFlags.PosixAcl |
        FuseInitFlags.AbortError | FuseInitFlags.MaxPages | FuseInitFlags.CacheSymlinks | FuseInitFlags.NoOpenDirSupport |
        FuseInitFlags.ExplicitInvalData | FuseInitFlags.HandleKillPrivV2 | FuseInitFlags.SetXattrExt | FuseInitFlags.InitExt |
        FuseInitFlags.SecurityContext | FuseInitFlags.CreateSuppGroup;

    [Fact]
    public void A_modern_kernel_gets_1_MiB_writes_and_the_door_s_capabilities_only()
    {
        var offer = Decode(RecordedInit(41, ModernKernel));

        var (reply, info) = FuseInitNegotiation.Negotiate(offer, new FuseInitRequest());
        var bytes = Encode(reply);

        Assert.Equal(7u, BitConverter.ToUInt32(bytes, 0));
        Assert.Equal(FuseConstants.KernelMinorVersion, BitConverter.ToUInt32(bytes, 4));
        Assert.Equal(128u * 1024, BitConverter.ToUInt32(bytes, 8));
        Assert.Equal(1u << 20, BitConverter.ToUInt32(bytes, 20));
        Assert.Equal(256, BitConverter.ToUInt16(bytes, 28));
        Assert.Equal(1u, BitConverter.ToUInt32(bytes, 24)); // time_gran: nanoseconds
        var granted = (FuseInitFlags)BitConverter.ToUInt32(bytes, 12);
        Assert.Equal(FuseInitRequest.DefaultFlags, granted);
        Assert.False(info.Has(FuseInitFlags.WritebackCache));
        Assert.False(info.Has(FuseInitFlags.SetXattrExt)); // the 8-byte setxattr_in is what the door decodes
        Assert.Equal(0u, BitConverter.ToUInt32(bytes, 32)); // no flags2 asked for
    }

    [Fact]
    public void Only_flags_the_kernel_offers_are_granted()
    {
        var offer = Decode(RecordedInit(38, FuseInitFlags.AsyncRead | FuseInitFlags.BigWrites | FuseInitFlags.PosixLocks));

        var (reply, info) = FuseInitNegotiation.Negotiate(offer, new FuseInitRequest());

        Assert.Equal(FuseInitFlags.AsyncRead | FuseInitFlags.BigWrites | FuseInitFlags.PosixLocks, (FuseInitFlags)reply.Flags);
        Assert.False(info.Has(FuseInitFlags.FlockLocks));
        // Without MAX_PAGES the kernel cannot send more than 32 pages per request.
        Assert.Equal(128u * 1024, reply.MaxWrite);
        Assert.Equal(0, reply.MaxPages);
    }

    [Theory]
    [InlineData(28u, 28u)]
    [InlineData(31u, 31u)]
    [InlineData(38u, 38u)]
    [InlineData(45u, 38u)]
    public void The_lower_minor_is_spoken(uint kernelMinor, uint expected)
    {
        var (reply, info) = FuseInitNegotiation.Negotiate(Decode(RecordedInit(kernelMinor, ModernKernel)), new FuseInitRequest());
        Assert.Equal(expected, reply.Minor);
        Assert.Equal(expected, info.Minor);
    }

    [Fact]
    public void An_ancient_or_foreign_protocol_is_refused_with_a_reason()
    {
        var old = Decode(RecordedInit(19, ModernKernel));
        var error = Assert.Throws<FuseMountException>(() => FuseInitNegotiation.Negotiate(old, new FuseInitRequest()));
        Assert.Contains("7.19", error.Message);

        var foreign = old;
        foreign.Major = 8;
        Assert.Throws<FuseMountException>(() => FuseInitNegotiation.Negotiate(foreign, new FuseInitRequest()));
    }

    [Fact]
    public void Flags2_are_read_only_when_the_kernel_sets_init_ext()
    {
        var request = new FuseInitRequest { Wanted = FuseInitRequest.DefaultFlags | FuseInitFlags.InitExt | FuseInitFlags.CreateSuppGroup };
        var without = Decode(RecordedInit(41, (ModernKernel & ~FuseInitFlags.InitExt) | FuseInitFlags.CreateSuppGroup));
        Assert.False(FuseInitNegotiation.Negotiate(without, request).Info.Has(FuseInitFlags.CreateSuppGroup));

        var with = Decode(RecordedInit(41, ModernKernel));
        var (reply, info) = FuseInitNegotiation.Negotiate(with, request);
        Assert.True(info.Has(FuseInitFlags.CreateSuppGroup));
        Assert.Equal((uint)((ulong)FuseInitFlags.CreateSuppGroup >> 32), reply.Flags2);
    }
}
