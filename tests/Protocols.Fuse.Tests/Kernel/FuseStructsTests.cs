using System.Runtime.InteropServices;
using Protocols.Fuse.Kernel;

namespace Protocols.Fuse.Tests.Kernel;

public class FuseStructsTests
{
    // Sizes from linux/fuse.h (7.38); a wrong size would shift every field the kernel reads after it.
    [Theory]
    [InlineData(typeof(FuseInHeader), 40)]
    [InlineData(typeof(FuseOutHeader), 16)]
    [InlineData(typeof(FuseAttr), 88)]
    [InlineData(typeof(FuseKStatFs), 80)]
    [InlineData(typeof(FuseFileLock), 24)]
    [InlineData(typeof(FuseEntryOut), 128)]
    [InlineData(typeof(FuseForgetIn), 8)]
    [InlineData(typeof(FuseForgetOne), 16)]
    [InlineData(typeof(FuseBatchForgetIn), 8)]
    [InlineData(typeof(FuseGetAttrIn), 16)]
    [InlineData(typeof(FuseAttrOut), 104)]
    [InlineData(typeof(FuseMknodIn), 16)]
    [InlineData(typeof(FuseMkdirIn), 8)]
    [InlineData(typeof(FuseRenameIn), 8)]
    [InlineData(typeof(FuseRename2In), 16)]
    [InlineData(typeof(FuseLinkIn), 8)]
    [InlineData(typeof(FuseSetAttrIn), 88)]
    [InlineData(typeof(FuseOpenIn), 8)]
    [InlineData(typeof(FuseCreateIn), 16)]
    [InlineData(typeof(FuseOpenOut), 16)]
    [InlineData(typeof(FuseReleaseIn), 24)]
    [InlineData(typeof(FuseFlushIn), 24)]
    [InlineData(typeof(FuseReadIn), 40)]
    [InlineData(typeof(FuseWriteIn), 40)]
    [InlineData(typeof(FuseWriteOut), 8)]
    [InlineData(typeof(FuseFsyncIn), 16)]
    [InlineData(typeof(FuseSetXattrIn), 8)]
    [InlineData(typeof(FuseGetXattrIn), 8)]
    [InlineData(typeof(FuseGetXattrOut), 8)]
    [InlineData(typeof(FuseLkIn), 48)]
    [InlineData(typeof(FuseLkOut), 24)]
    [InlineData(typeof(FuseAccessIn), 8)]
    [InlineData(typeof(FuseInitIn), 64)]
    [InlineData(typeof(FuseInitOut), 64)]
    [InlineData(typeof(FuseInterruptIn), 8)]
    [InlineData(typeof(FuseFallocateIn), 32)]
    [InlineData(typeof(FuseDirent), 24)]
    [InlineData(typeof(FuseNotifyInvalInodeOut), 24)]
    [InlineData(typeof(FuseNotifyInvalEntryOut), 16)]
    [InlineData(typeof(FuseNotifyDeleteOut), 24)]
    [InlineData(typeof(FuseLseekIn), 24)]
    [InlineData(typeof(FuseLseekOut), 8)]
    [InlineData(typeof(FuseCopyFileRangeIn), 56)]
    public void Struct_has_the_kernel_size(Type type, int size) => Assert.Equal(size, Marshal.SizeOf(type));

    [Theory]
    [InlineData(typeof(FuseAttr), nameof(FuseAttr.Mode), 60)]
    [InlineData(typeof(FuseAttr), nameof(FuseAttr.BlkSize), 80)]
    [InlineData(typeof(FuseEntryOut), nameof(FuseEntryOut.Attr), 40)]
    [InlineData(typeof(FuseAttrOut), nameof(FuseAttrOut.Attr), 16)]
    [InlineData(typeof(FuseSetAttrIn), nameof(FuseSetAttrIn.Mode), 68)]
    [InlineData(typeof(FuseSetAttrIn), nameof(FuseSetAttrIn.Uid), 76)]
    [InlineData(typeof(FuseLkIn), nameof(FuseLkIn.LkFlags), 40)]
    [InlineData(typeof(FuseInitOut), nameof(FuseInitOut.MaxWrite), 20)]
    [InlineData(typeof(FuseInitOut), nameof(FuseInitOut.MaxPages), 28)]
    [InlineData(typeof(FuseInitOut), nameof(FuseInitOut.Flags2), 32)]
    [InlineData(typeof(FuseInHeader), nameof(FuseInHeader.Pid), 32)]
    [InlineData(typeof(FuseCopyFileRangeIn), nameof(FuseCopyFileRangeIn.Len), 40)]
    public void Field_is_at_the_kernel_offset(Type type, string field, int offset) =>
        Assert.Equal(offset, (int)Marshal.OffsetOf(type, field));

    [Fact]
    public void In_header_decodes_from_little_endian_bytes()
    {
        var bytes = new byte[40];
        BitConverter.TryWriteBytes(bytes.AsSpan(0), 40u);
        BitConverter.TryWriteBytes(bytes.AsSpan(4), (uint)FuseOpcode.Lookup);
        BitConverter.TryWriteBytes(bytes.AsSpan(8), 0x1122334455667788UL);
        BitConverter.TryWriteBytes(bytes.AsSpan(16), 7UL);
        BitConverter.TryWriteBytes(bytes.AsSpan(24), 1000u);
        BitConverter.TryWriteBytes(bytes.AsSpan(28), 100u);
        BitConverter.TryWriteBytes(bytes.AsSpan(32), 4242u);

        var header = MemoryMarshal.Read<FuseInHeader>(bytes);

        Assert.Equal(FuseOpcode.Lookup, header.Opcode);
        Assert.Equal(0x1122334455667788UL, header.Unique);
        Assert.Equal(7UL, header.NodeId);
        Assert.Equal((1000u, 100u, 4242u), (header.Uid, header.Gid, header.Pid));
    }

    [Fact]
    public void Entry_out_round_trips_through_bytes()
    {
        var entry = new FuseEntryOut
        {
            NodeId = 42, Generation = 0, EntryValid = 1, AttrValid = 2, EntryValidNsec = 3, AttrValidNsec = 4,
            Attr = new FuseAttr { Ino = 42, Size = 1 << 40, Mode = 0x81A4, Nlink = 2, Uid = 1000, Gid = 1000, MtimeNsec = 999_999_999 },
        };
        var bytes = new byte[128];
        MemoryMarshal.Write(bytes, in entry);

        Assert.Equal(42UL, BitConverter.ToUInt64(bytes, 0));
        Assert.Equal(0x81A4u, BitConverter.ToUInt32(bytes, 40 + 60));
        Assert.Equal(entry, MemoryMarshal.Read<FuseEntryOut>(bytes));
    }

    [Fact]
    public void Notification_bodies_carry_the_name_and_its_nul()
    {
        var entry = FuseNotifications.InvalEntry(5, "naïve");
        Assert.Equal(16 + 6 + 1, entry.Length);
        Assert.Equal(5UL, BitConverter.ToUInt64(entry, 0));
        Assert.Equal(6u, BitConverter.ToUInt32(entry, 8));
        Assert.Equal(0, entry[^1]);

        var delete = FuseNotifications.Delete(1, 9, "x");
        Assert.Equal(24 + 2, delete.Length);
        Assert.Equal(9UL, BitConverter.ToUInt64(delete, 8));
        Assert.Equal((byte)'x', delete[24]);

        var inode = FuseNotifications.InvalInode(7, -1, 0);
        Assert.Equal(-1L, BitConverter.ToInt64(inode, 8));
    }

    [Fact]
    public void Clone_ioctl_number_is_IOR_229_0_uint32() =>
        Assert.Equal((2u << 30) | (4u << 16) | (229u << 8), FuseConstants.DevIocClone);
}
