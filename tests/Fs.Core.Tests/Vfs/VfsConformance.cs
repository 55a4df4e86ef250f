using Fs.Core.Vfs;

namespace Fs.Core.Tests.Vfs;

/// <summary>
/// What every volume must do, whatever its metadata engine and object store: the POSIX behaviour of each
/// <see cref="FileSystem"/> operation, errors included, as Linux ext4 shows it. Split by area into partial files.
/// </summary>
public abstract partial class VfsConformance : VolumeTest
{
    protected const ulong Root = FsLimits.RootIno;

    /// <summary>Two ordinary users in different primary groups, and a third who shares a supplementary group with the first.</summary>
    protected static readonly Caller Alice = new(1000, 1000);
    protected static readonly Caller Bob = new(2000, 2000);
    protected static readonly Caller Carol = new(3000, 3000, [1000]);

    /// <summary>Permission bits written as their octal digits, e.g. Oct(4755).</summary>
    protected static uint Oct(int octalDigits)
    {
        uint value = 0, scale = 1;
        for (var rest = octalDigits; rest > 0; rest /= 10, scale *= 8)
        {
            var digit = rest % 10;
            if (digit > 7)
                throw new ArgumentOutOfRangeException(nameof(octalDigits), octalDigits, "Not an octal number.");
            value += (uint)digit * scale;
        }
        return value;
    }

    protected static T Ok<T>(Result<T> result, string what)
    {
        Assert.True(result.Ok, $"{what}: expected success, got {result.Error}");
        return result.Value;
    }

    protected static void Ok(Errno errno, string what) =>
        Assert.True(errno == Errno.OK, $"{what}: expected success, got {errno}");

    protected static void Fails<T>(Errno expected, Result<T> result, string what) =>
        Assert.True(result.Error == expected, $"{what}: expected {expected}, got {(result.Ok ? "success" : result.Error)}");

    protected static void Fails(Errno expected, Errno actual, string what) =>
        Assert.True(actual == expected, $"{what}: expected {expected}, got {actual}");

    /// <summary>Deterministic, position-dependent content so a misplaced byte is caught.</summary>
    protected static byte[] Pattern(int length, int seed = 1)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    protected async Task<InodeAttr> AttrAsync(ulong ino) => Ok(await Fs.GetAttrAsync(ino), $"getattr {ino}");

    protected async Task<InodeAttr> LookupAsync(ulong parent, string name) =>
        Ok(await Fs.LookupAsync(Caller.Root, parent, name), $"lookup {name}");

    protected async Task<InodeAttr> MkdirAsync(ulong parent, string name, uint? mode = null, Caller? caller = null) =>
        Ok(await Fs.MkdirAsync(caller ?? Caller.Root, parent, name, mode ?? Oct(755)), $"mkdir {name}");

    /// <summary>Creates a regular file with the given content and closes it.</summary>
    protected async Task<InodeAttr> NewFileAsync(ulong parent, string name, byte[]? content = null, uint? mode = null, Caller? caller = null)
    {
        var (attr, handle) = Ok(await Fs.CreateAsync(caller ?? Caller.Root, parent, name, mode ?? Oct(644), OpenFlags.ReadWrite | OpenFlags.Create | OpenFlags.Exclusive), $"create {name}");
        if (content is { Length: > 0 })
            Assert.Equal(content.Length, Ok(await Fs.WriteAsync(handle, 0, content), $"write {name}"));
        Ok(await Fs.ReleaseAsync(handle), $"release {name}");
        return await AttrAsync(attr.Ino);
    }

    protected async Task<FileHandle> OpenAsync(ulong ino, OpenFlags flags = OpenFlags.ReadWrite, Caller? caller = null) =>
        Ok(await Fs.OpenAsync(caller ?? Caller.Root, ino, flags), $"open {ino}");

    protected async Task WriteAsync(FileHandle handle, long offset, byte[] data) =>
        Assert.Equal(data.Length, Ok(await Fs.WriteAsync(handle, offset, data), $"write {data.Length} bytes at {offset}"));

    /// <summary>Reads [offset, offset+length) through the handle, looping over short reads; stops early at end of file.</summary>
    protected async Task<byte[]> ReadAsync(FileHandle handle, long offset, int length)
    {
        var buffer = new byte[length];
        var total = 0;
        while (total < length)
        {
            var n = Ok(await Fs.ReadAsync(handle, offset + total, buffer.AsMemory(total)), $"read at {offset + total}");
            if (n == 0)
                break;
            total += n;
        }
        return buffer.AsSpan(0, total).ToArray();
    }

    /// <summary>The whole content of a file as a fresh reader sees it.</summary>
    protected async Task<byte[]> ReadAllAsync(ulong ino)
    {
        var size = (await AttrAsync(ino)).Size;
        var handle = await OpenAsync(ino, OpenFlags.ReadOnly);
        try
        {
            var data = await ReadAsync(handle, 0, checked((int)size + 1));
            return data;
        }
        finally
        {
            Ok(await Fs.ReleaseAsync(handle), "release reader");
        }
    }

    protected async Task<List<DirEntry>> ListAsync(ulong dir, int pageSize = 1000, bool plus = false, Caller? caller = null)
    {
        var entries = new List<DirEntry>();
        long cookie = 0;
        while (true)
        {
            var page = Ok(await Fs.ReadDirAsync(caller ?? Caller.Root, dir, cookie, pageSize, plus), $"readdir {dir} after {cookie}");
            entries.AddRange(page.Entries);
            if (page.Eof)
                return entries;
            Assert.NotEmpty(page.Entries);
            cookie = page.Entries[^1].Cookie;
        }
    }

    /// <summary>Waits long enough for the clock to move past any timestamp already taken, so "later" is observable.</summary>
    protected static Task TickAsync() => Task.Delay(20);

    protected static void AssertZeros(ReadOnlySpan<byte> data, string what)
    {
        var i = data.IndexOfAnyExcept((byte)0);
        if (i >= 0)
            Assert.Fail($"{what}: expected zeros, found {data[i]} at +{i}");
    }
}
