using System.Security.Cryptography;
using System.Text;
using Fs.Core.Vfs;

namespace Fs.Core.Tests.Vfs;

/// <summary>A volume in a temporary directory for the admin features (trash, quotas, dump), with file short-hands.</summary>
internal sealed class AdminVolume : IAsyncDisposable
{
    public const int BlockSize = 64 << 10;

    private AdminVolume(string dir, string metaUrl, FileSystem fs)
    {
        Dir = dir;
        MetaUrl = metaUrl;
        Fs = fs;
    }

    public string Dir { get; }

    public FileSystem Fs { get; private set; }

    public string MetaUrl { get; }

    public string StorageUrl => "file://" + Path.Combine(Dir, "objects");

    public static string MetaUrlIn(string dir, string file = "meta.db") => "sqlite://" + Path.Combine(dir, file);

    /// <param name="metaUrl">The metadata URL for the volume's directory; SQLite in it when not given.</param>
    public static async Task<AdminVolume> CreateAsync(
        Func<FormatOptions, FormatOptions>? format = null, Func<FileSystemOptions, FileSystemOptions>? open = null, Func<string, Task<string>>? metaUrl = null)
    {
        var dir = Directory.CreateTempSubdirectory("admin-volume-").FullName;
        var url = metaUrl is null ? MetaUrlIn(dir) : await metaUrl(dir);
        var options = new FormatOptions { Name = "admin", MetaUrl = url, StorageUrl = "file://" + Path.Combine(dir, "objects"), BlockSize = BlockSize };
        await FileSystem.FormatAsync(format is null ? options : format(options));
        var fs = await FileSystem.OpenAsync(Options(url, open));
        return new AdminVolume(dir, url, fs);
    }

    public static FileSystemOptions Options(string metaUrl, Func<FileSystemOptions, FileSystemOptions>? open = null)
    {
        var options = new FileSystemOptions { MetaUrl = metaUrl, MemoryCacheBytes = 16L << 20, WriteBufferBytes = 16L << 20 };
        return open is null ? options : open(options);
    }

    /// <summary>Closes and reopens the file system over the same metadata (e.g. after the format changed).</summary>
    public async Task ReopenAsync(Func<FileSystemOptions, FileSystemOptions>? open = null)
    {
        await Fs.DisposeAsync();
        Fs = await FileSystem.OpenAsync(Options(MetaUrl, open));
    }

    public VolumeFiles Files => new(Fs);

    public Task<InodeAttr> WriteFileAsync(ulong parent, string name, byte[] data) => Files.WriteFileAsync(parent, name, data);

    public Task<byte[]> ReadFileAsync(ulong ino) => Files.ReadFileAsync(ino);

    public Task<InodeAttr> LookupAsync(string path) => Files.LookupAsync(path);

    public Task<List<DirEntry>> ListAsync(ulong dir) => Files.ListAsync(dir);

    public Task<string> ChecksumTreeAsync() => Files.ChecksumTreeAsync();

    public async ValueTask DisposeAsync()
    {
        await Fs.DisposeAsync();
        Directory.Delete(Dir, recursive: true);
    }
}

/// <summary>File short-hands over any file system, as root.</summary>
internal sealed class VolumeFiles(FileSystem fs)
{
    private FileSystem Fs { get; } = fs;

    public async Task<InodeAttr> WriteFileAsync(ulong parent, string name, byte[] data)
    {
        var (attr, handle) = (await Fs.CreateAsync(Caller.Root, parent, name, 0x1A4, OpenFlags.ReadWrite | OpenFlags.Create | OpenFlags.Truncate)).Value;
        if (data.Length > 0)
            Assert.Equal(data.Length, (await Fs.WriteAsync(handle, 0, data)).Value);
        Assert.Equal(Errno.OK, await Fs.ReleaseAsync(handle));
        return attr;
    }

    public async Task<byte[]> ReadFileAsync(ulong ino)
    {
        var handle = (await Fs.OpenAsync(Caller.Root, ino, OpenFlags.ReadOnly)).Value;
        try
        {
            var size = (await Fs.GetAttrAsync(ino)).Value.Size;
            var data = new byte[size];
            var done = 0;
            while (done < data.Length)
            {
                var n = (await Fs.ReadAsync(handle, done, data.AsMemory(done))).Value;
                Assert.True(n > 0, $"short read of inode {ino} at {done}");
                done += n;
            }
            return data;
        }
        finally
        {
            await Fs.ReleaseAsync(handle);
        }
    }

    public async Task<InodeAttr> LookupAsync(string path)
    {
        var current = (await Fs.GetAttrAsync(FsLimits.RootIno)).Value;
        foreach (var name in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var next = await Fs.LookupAsync(Caller.Root, current.Ino, name);
            Assert.True(next.Ok, $"{path}: {name}: {next.Error}");
            current = next.Value;
        }
        return current;
    }

    public async Task<List<DirEntry>> ListAsync(ulong dir)
    {
        var page = (await Fs.ReadDirAsync(Caller.Root, dir, 0, 10_000, plus: true)).Value;
        Assert.True(page.Eof);
        return page.Entries.Where(e => e.Name is not "." and not "..").ToList();
    }

    /// <summary>
    /// A digest of everything a user sees below the root: every path with its type, mode, owner, size, link count and
    /// mtime, symlink targets, xattrs and file contents. Two volumes with the same digest look the same to every client.
    /// </summary>
    public async Task<string> ChecksumTreeAsync()
    {
        var lines = new List<string>();
        await WalkAsync(FsLimits.RootIno, "", lines);
        lines.Sort(StringComparer.Ordinal);
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', lines))));
    }

    private async Task WalkAsync(ulong dir, string path, List<string> lines)
    {
        foreach (var e in await ListAsync(dir))
        {
            var a = e.Attr!;
            var full = path + "/" + e.Name;
            var line = new StringBuilder($"{full} {a.Type} {Convert.ToString(a.Mode, 8)} {a.Uid}:{a.Gid} size={a.Size} nlink={a.Nlink} mtime={a.Mtime}");
            var names = (await Fs.ListXattrAsync(Caller.Root, a.Ino)).Value.Order(StringComparer.Ordinal);
            foreach (var name in names)
                line.Append($" xattr {name}={Convert.ToHexString((await Fs.GetXattrAsync(Caller.Root, a.Ino, name)).Value)}");
            switch (a.Type)
            {
                case FileType.Symlink:
                    line.Append(" -> ").Append((await Fs.ReadlinkAsync(a.Ino)).Value);
                    break;
                case FileType.Regular:
                    line.Append(" sha256=").Append(Convert.ToHexString(SHA256.HashData(await ReadFileAsync(a.Ino))));
                    break;
                case FileType.Directory:
                    await WalkAsync(a.Ino, full, lines);
                    break;
            }
            lines.Add(line.ToString());
        }
    }
}
