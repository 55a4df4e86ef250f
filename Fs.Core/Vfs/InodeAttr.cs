namespace Fs.Core.Vfs;

/// <summary>The attributes of one inode. Times are nanoseconds since the Unix epoch; <see cref="Mode"/> holds only the 07777 bits.</summary>
public sealed record InodeAttr
{
    public const uint SetUid = 0x800;
    public const uint SetGid = 0x400;
    public const uint Sticky = 0x200;

    public required ulong Ino { get; init; }
    public required FileType Type { get; init; }
    public required uint Mode { get; init; }
    public uint Uid { get; init; }
    public uint Gid { get; init; }
    public uint Nlink { get; init; } = 1;
    public long Size { get; init; }
    public uint Rdev { get; init; }
    public long Atime { get; init; }
    public long Mtime { get; init; }
    public long Ctime { get; init; }
    /// <summary>Parent directory of a directory (0 for other types, whose parents may be many).</summary>
    public ulong Parent { get; init; }

    /// <summary>Mode with the S_IFMT type bits, as stat(2) reports it.</summary>
    public uint StMode => TypeBits(Type) | (Mode & 0xFFF);

    /// <summary>512-byte blocks, as stat(2) reports them (allocation rounded to 4 KiB).</summary>
    public long Blocks => Type == FileType.Regular ? (Size + 4095) / 4096 * 8 : Type == FileType.Directory ? 8 : 0;

    public static uint TypeBits(FileType type) => type switch
    {
        FileType.Fifo => 0x1000,
        FileType.CharDevice => 0x2000,
        FileType.Directory => 0x4000,
        FileType.BlockDevice => 0x6000,
        FileType.Regular => 0x8000,
        FileType.Symlink => 0xA000,
        FileType.Socket => 0xC000,
        _ => 0,
    };

    public static FileType? TypeFromBits(uint stMode) => (stMode & 0xF000) switch
    {
        0x1000 => FileType.Fifo,
        0x2000 => FileType.CharDevice,
        0x4000 => FileType.Directory,
        0x6000 => FileType.BlockDevice,
        0x8000 => FileType.Regular,
        0xA000 => FileType.Symlink,
        0xC000 => FileType.Socket,
        _ => null,
    };
}

/// <summary>Conversions between nanosecond Unix times and .NET times.</summary>
public static class UnixTime
{
    public static long NowNanos() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    public static DateTime ToDateTime(long nanos) => DateTime.UnixEpoch.AddTicks(nanos / 100);

    public static long FromDateTime(DateTime time) => (time.ToUniversalTime().Ticks - DateTime.UnixEpoch.Ticks) * 100;

    public static (long Seconds, uint Nanos) Split(long nanos)
    {
        var sec = Math.DivRem(nanos, 1_000_000_000L, out var rem);
        if (rem < 0)
        {
            sec -= 1;
            rem += 1_000_000_000L;
        }
        return (sec, (uint)rem);
    }

    public static long Join(long seconds, uint nanos) => seconds * 1_000_000_000L + nanos;
}
