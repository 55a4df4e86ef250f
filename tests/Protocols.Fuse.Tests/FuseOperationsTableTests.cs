using System.Runtime.InteropServices;
using System.Text;
using Fs.Core.Locks;
using Fs.Core.Vfs;
using Protocols.Fuse.Kernel;

namespace Protocols.Fuse.Tests;

public class FuseOperationsTableTests
{
    /// <summary>Every opcode issue #3 requires, with the fixed input struct the kernel sends before any names or data.</summary>
    public static TheoryData<FuseOpcode, int> Required => new()
    {
        { FuseOpcode.Lookup, 0 }, { FuseOpcode.Forget, 8 }, { FuseOpcode.BatchForget, 8 }, { FuseOpcode.GetAttr, 16 },
        { FuseOpcode.SetAttr, 88 }, { FuseOpcode.ReadLink, 0 }, { FuseOpcode.Symlink, 0 }, { FuseOpcode.Mknod, 16 },
        { FuseOpcode.Mkdir, 8 }, { FuseOpcode.Unlink, 0 }, { FuseOpcode.Rmdir, 0 }, { FuseOpcode.Rename, 8 },
        { FuseOpcode.Rename2, 16 }, { FuseOpcode.Link, 8 }, { FuseOpcode.Open, 8 }, { FuseOpcode.Create, 16 },
        { FuseOpcode.Read, 40 }, { FuseOpcode.Write, 40 }, { FuseOpcode.Flush, 24 }, { FuseOpcode.Release, 24 },
        { FuseOpcode.Fsync, 16 }, { FuseOpcode.OpenDir, 8 }, { FuseOpcode.ReadDir, 40 }, { FuseOpcode.ReadDirPlus, 40 },
        { FuseOpcode.ReleaseDir, 24 }, { FuseOpcode.FsyncDir, 16 }, { FuseOpcode.StatFs, 0 }, { FuseOpcode.SetXattr, 8 },
        { FuseOpcode.GetXattr, 8 }, { FuseOpcode.ListXattr, 8 }, { FuseOpcode.RemoveXattr, 0 }, { FuseOpcode.Access, 8 },
        { FuseOpcode.GetLk, 48 }, { FuseOpcode.SetLk, 48 }, { FuseOpcode.SetLkW, 48 }, { FuseOpcode.Fallocate, 32 },
        { FuseOpcode.Lseek, 24 }, { FuseOpcode.CopyFileRange, 56 },
    };

    [Theory]
    [MemberData(nameof(Required))]
    public void Every_required_opcode_has_a_handler_with_its_input_size(FuseOpcode opcode, int inputSize)
    {
        var operation = FuseOperations.Find(opcode);
        Assert.NotNull(operation);
        Assert.Equal(opcode, operation.Opcode);
        Assert.Equal(inputSize, operation.InputSize);
        Assert.False(string.IsNullOrEmpty(operation.Name));
    }

    [Theory]
    [InlineData(FuseOpcode.Bmap)]
    [InlineData(FuseOpcode.Ioctl)]
    [InlineData(FuseOpcode.Poll)]
    [InlineData(FuseOpcode.SetupMapping)]
    [InlineData(FuseOpcode.SyncFs)]
    [InlineData(FuseOpcode.TmpFile)]
    [InlineData((FuseOpcode)4096)]
    public void Other_opcodes_have_no_handler_and_so_answer_ENOSYS(FuseOpcode opcode) => Assert.Null(FuseOperations.Find(opcode));

    [Fact]
    public void The_table_names_each_opcode_once() =>
        Assert.Equal(FuseOperations.Operations.Length, FuseOperations.Operations.Select(o => o.Opcode).Distinct().Count());

    [Fact]
    public void Attributes_are_encoded_as_stat_reports_them()
    {
        var attr = new InodeAttr
        {
            Ino = 12, Type = FileType.Regular, Mode = 0x9ED /* 04755 */, Uid = 1000, Gid = 100, Nlink = 3, Size = 5000,
            Mtime = UnixTime.Join(1_700_000_000, 123_456_789), Atime = -1, Ctime = 0,
        };

        var encoded = FuseOperations.Encode(attr, 1 << 20);

        Assert.Equal(0x8000u | 0x9ED, encoded.Mode);
        Assert.Equal(16UL, encoded.Blocks); // 5000 bytes take two 4 KiB blocks = 16 sectors
        Assert.Equal((1_700_000_000UL, 123_456_789u), (encoded.Mtime, encoded.MtimeNsec));
        Assert.Equal((ulong.MaxValue, 999_999_999u), (encoded.Atime, encoded.AtimeNsec)); // -1 ns is second -1 (two's complement) plus 999999999 ns
        Assert.Equal((3u, 1000u, 100u), (encoded.Nlink, encoded.Uid, encoded.Gid));
    }

    [Fact]
    public void Dirents_are_padded_to_8_bytes_and_carry_the_resume_cookie()
    {
        var buffer = new byte[64];
        var written = FuseOperations.WriteDirent(buffer, new DirEntry("hello", 77, FileType.Directory, 5));

        Assert.Equal(32, written); // 24 + 5 rounded up
        var dirent = MemoryMarshal.Read<FuseDirent>(buffer);
        Assert.Equal((77UL, 5UL, 5u, 4u), (dirent.Ino, dirent.Off, dirent.NameLen, dirent.Type)); // DT_DIR = 4
        Assert.Equal("hello", Encoding.UTF8.GetString(buffer, 24, 5));
        Assert.All(buffer[29..32], b => Assert.Equal(0, b));

        Assert.Equal(0, FuseOperations.WriteDirent(buffer.AsSpan(0, 31), new DirEntry("hello", 77, FileType.Directory, 5)));
    }

    [Theory]
    [InlineData(0UL, 0x7FFFFFFFFFFFFFFFUL, 0L, long.MaxValue)]
    [InlineData(100UL, 199UL, 100L, 200L)]
    [InlineData(5UL, 5UL, 5L, 6L)]
    public void Lock_ranges_turn_from_inclusive_to_exclusive_ends(ulong start, ulong end, long expectedStart, long expectedEnd)
    {
        var range = FuseOperations.Range(new FuseFileLock { Start = start, End = end, Type = FuseConstants.F_WRLCK });
        Assert.Equal((expectedStart, expectedEnd), range);
    }

    [Fact]
    public void A_conflicting_lock_is_described_with_an_inclusive_end()
    {
        var owner = new LockOwner(1, LockDoor.Nfs, "client", 9);
        var toEof = FuseOperations.Describe(new LockRecord(LockKind.Posix, LockMode.Exclusive, owner, 10, long.MaxValue, Pid: 33));
        Assert.Equal((10UL, (ulong)long.MaxValue, FuseConstants.F_WRLCK, 33u), (toEof.Start, toEof.End, toEof.Type, toEof.Pid));

        var bounded = FuseOperations.Describe(new LockRecord(LockKind.Posix, LockMode.Shared, owner, 0, 100));
        Assert.Equal((99UL, FuseConstants.F_RDLCK), (bounded.End, bounded.Type));
    }

    [Fact]
    public void Statfs_counts_in_4_KiB_fragments_so_df_shows_the_volume_figures()
    {
        var stat = new StatFs(TotalBytes: 10L << 30, AvailableBytes: 3L << 30, UsedInodes: 10, AvailableInodes: 90, BlockSize: 4 << 20, MaxNameLength: 255);

        var encoded = FuseOperations.EncodeStatFs(stat);

        Assert.Equal((ulong)(10L << 30), encoded.Blocks * encoded.Frsize);
        Assert.Equal((ulong)(3L << 30), encoded.Bavail * encoded.Frsize);
        Assert.Equal((100UL, 90UL, 255u), (encoded.Files, encoded.Ffree, encoded.NameLen));
    }
}
