using Fs.Core.Meta;
using Fs.Core.Vfs;

namespace Appliance.Cli;

/// <summary>What the benchmark writes, reads and stats: the volume through the Vfs, or a directory (e.g. a FUSE mount).</summary>
internal interface IBenchTarget
{
    string Description { get; }

    Task WriteFileAsync(string name, long size, ReadOnlyMemory<byte> block, CancellationToken ct);

    Task<long> ReadFileAsync(string name, Memory<byte> buffer, CancellationToken ct);

    Task<long> StatAsync(string name, CancellationToken ct);

    /// <summary>Removes everything the benchmark made.</summary>
    Task CleanupAsync(CancellationToken ct);
}

/// <summary>The benchmark through the core file system, in a scratch directory under the volume's root.</summary>
internal sealed class VfsBenchTarget : IBenchTarget
{
    private readonly FileSystem _fs;
    private readonly ulong _dir;
    private readonly string _dirName;

    private VfsBenchTarget(FileSystem fs, ulong dir, string dirName)
    {
        _fs = fs;
        _dir = dir;
        _dirName = dirName;
    }

    public string Description => $"the volume through the Vfs ({_fs.Meta.Description})";

    public static async Task<VfsBenchTarget> CreateAsync(FileSystem fs, CancellationToken ct)
    {
        var name = $".bench-{Environment.ProcessId}-{Guid.NewGuid():N}";
        var dir = await fs.MkdirAsync(Caller.Root, FsLimits.RootIno, name, 0x1ED, ct).ConfigureAwait(false);
        return new VfsBenchTarget(fs, Check(dir, name).Ino, name);
    }

    public async Task WriteFileAsync(string name, long size, ReadOnlyMemory<byte> block, CancellationToken ct)
    {
        var (_, handle) = Check(await _fs.CreateAsync(Caller.Root, _dir, name, 0x1A4, OpenFlags.WriteOnly | OpenFlags.Create | OpenFlags.Truncate, ct).ConfigureAwait(false), name);
        try
        {
            for (long offset = 0; offset < size; offset += block.Length)
                Check(await _fs.WriteAsync(handle, offset, block[..(int)Math.Min(block.Length, size - offset)], ct).ConfigureAwait(false), name);
        }
        finally
        {
            Check(await _fs.ReleaseAsync(handle, ct).ConfigureAwait(false), name);
        }
    }

    public async Task<long> ReadFileAsync(string name, Memory<byte> buffer, CancellationToken ct)
    {
        var attr = Check(await _fs.LookupAsync(Caller.Root, _dir, name, ct).ConfigureAwait(false), name);
        var handle = Check(await _fs.OpenAsync(Caller.Root, attr.Ino, OpenFlags.ReadOnly, ct).ConfigureAwait(false), name);
        try
        {
            long offset = 0;
            while (true)
            {
                var n = Check(await _fs.ReadAsync(handle, offset, buffer, ct).ConfigureAwait(false), name);
                if (n == 0)
                    return offset;
                offset += n;
            }
        }
        finally
        {
            await _fs.ReleaseAsync(handle, ct).ConfigureAwait(false);
        }
    }

    public async Task<long> StatAsync(string name, CancellationToken ct)
    {
        var attr = Check(await _fs.LookupAsync(Caller.Root, _dir, name, ct).ConfigureAwait(false), name);
        return Check(await _fs.GetAttrAsync(attr.Ino, ct).ConfigureAwait(false), name).Size;
    }

    public async Task CleanupAsync(CancellationToken ct)
    {
        var names = new List<string>();
        var page = Check(await _fs.ReadDirAsync(Caller.Root, _dir, 0, int.MaxValue, ct: ct).ConfigureAwait(false), _dirName);
        names.AddRange(page.Entries.Select(e => e.Name).Where(n => n is not "." and not ".."));
        foreach (var name in names)
            await _fs.UnlinkAsync(Caller.Root, _dir, name, ct).ConfigureAwait(false);
        await _fs.RmdirAsync(Caller.Root, FsLimits.RootIno, _dirName, ct).ConfigureAwait(false);
        // Benchmark files are not anyone's lost work: take them out of the trash at once.
        var bin = new TrashBin(_fs.Meta);
        foreach (var hour in await bin.ListHoursAsync(ct).ConfigureAwait(false))
        {
            foreach (var entry in await bin.ListEntriesAsync(hour, ct).ConfigureAwait(false))
                if (entry.OriginalParent == _dir)
                    await _fs.UnlinkAsync(Caller.Root, hour.Ino, entry.Name, ct).ConfigureAwait(false);
            await bin.RemoveIfEmptyAsync(hour, ct).ConfigureAwait(false);
        }
    }

    private static T Check<T>(Result<T> result, string what) =>
        result.TryGet(out var value) ? value : throw new FsException(result.Error, $"benchmark: {what}: {result.Error}");

    private static void Check(Errno result, string what)
    {
        if (result != Errno.OK)
            throw new FsException(result, $"benchmark: {what}: {result}");
    }
}

/// <summary>The benchmark through the operating system, in a scratch directory under a path (a FUSE or NFS mount, or any directory).</summary>
internal sealed class DirectoryBenchTarget : IBenchTarget
{
    private readonly string _dir;

    public DirectoryBenchTarget(string parent)
    {
        if (!Directory.Exists(parent))
            throw new VolumeException($"{parent} is not a directory");
        _dir = Path.Combine(parent, $".bench-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dir);
    }

    public string Description => $"the directory {Path.GetDirectoryName(_dir)}";

    public async Task WriteFileAsync(string name, long size, ReadOnlyMemory<byte> block, CancellationToken ct)
    {
        // No user-space buffering: every write goes to the file system as the application would send it.
        var file = new FileStream(Path.Combine(_dir, name), FileMode.Create, FileAccess.Write, FileShare.None, 0, useAsync: true);
        await using (file.ConfigureAwait(false))
            for (long offset = 0; offset < size; offset += block.Length)
                await file.WriteAsync(block[..(int)Math.Min(block.Length, size - offset)], ct).ConfigureAwait(false);
    }

    public async Task<long> ReadFileAsync(string name, Memory<byte> buffer, CancellationToken ct)
    {
        var file = new FileStream(Path.Combine(_dir, name), FileMode.Open, FileAccess.Read, FileShare.Read, 0, useAsync: true);
        await using (file.ConfigureAwait(false))
        {
            long total = 0;
            int n;
            while ((n = await file.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                total += n;
            return total;
        }
    }

    public Task<long> StatAsync(string name, CancellationToken ct) => Task.FromResult(new FileInfo(Path.Combine(_dir, name)).Length);

    public Task CleanupAsync(CancellationToken ct)
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }
}
