using Fs.Core.Chunks;
using Fs.Core.Meta;
using Fs.Core.Meta.Sqlite;
using Fs.Core.Vfs;

namespace Fs.Core.Tests.Meta;

/// <summary>A freshly formatted SQLite engine in a temporary directory, with short-hands for the common calls.</summary>
public abstract class SqliteEngineTest : IAsyncLifetime
{
    protected static readonly Caller Alice = new(1000, 1000, [1000, 50]);
    protected static readonly Caller Bob = new(1001, 1001, [1001]);
    protected static readonly Caller Root = Caller.Root;
    protected static readonly CancellationToken None = CancellationToken.None;
    protected const ulong RootIno = FsLimits.RootIno;

    protected string Dir { get; } = Path.Combine(Path.GetTempPath(), "meta-" + Guid.NewGuid().ToString("N"));

    protected string DbPath => Path.Combine(Dir, "meta.db");

    protected SqliteMetaEngine Engine { get; private set; } = null!;

    public static VolumeFormat NewFormat() => new()
    {
        Name = "test",
        Uuid = Guid.NewGuid(),
        HandleKey = "00",
        CreatedUtc = DateTime.UtcNow,
    };

    public virtual async Task InitializeAsync()
    {
        Engine = new SqliteMetaEngine(DbPath);
        Assert.Equal(Errno.OK, await Engine.FormatAsync(NewFormat(), None));
        // A world-writable root lets the tests act as ordinary users.
        _ = (await Engine.SetAttrAsync(Root, RootIno, new SetAttrRequest(SetAttrMask.Mode, Mode: 0x1FF), None)).Value;
    }

    public virtual async Task DisposeAsync()
    {
        await Engine.DisposeAsync();
        Directory.Delete(Dir, recursive: true);
    }

    protected async Task ReopenAsync()
    {
        await Engine.DisposeAsync();
        Engine = new SqliteMetaEngine(DbPath);
    }

    protected async Task<InodeAttr> CreateFile(ulong parent, string name, Caller? caller = null, uint mode = 0x1A4) =>
        (await Engine.MknodAsync(caller ?? Alice, parent, name, FileType.Regular, mode, 0, null, None)).Value;

    protected async Task<InodeAttr> Mkdir(ulong parent, string name, Caller? caller = null, uint mode = 0x1ED) =>
        (await Engine.MknodAsync(caller ?? Alice, parent, name, FileType.Directory, mode, 0, null, None)).Value;

    protected async Task<InodeAttr> Attr(ulong ino) => (await Engine.GetAttrAsync(ino, None)).Value;

    protected async Task<Errno> Lookup(ulong parent, string name, Caller? caller = null) =>
        (await Engine.LookupAsync(caller ?? Alice, parent, name, None)).Error;

    protected async Task<List<string>> Names(ulong dir)
    {
        var entries = (await Engine.ReadDirAsync(Root, dir, 0, 10_000, false, None)).Value;
        return entries.Select(e => e.Name).ToList();
    }

    /// <summary>Writes a fresh slice of <paramref name="length"/> bytes at <paramref name="offset"/> (within one chunk).</summary>
    protected async Task<Slice> Write(ulong ino, long offset, uint length)
    {
        var id = await Engine.NewSliceIdAsync(None);
        var slice = new Slice(id, length, 0, length, (uint)(offset % VolumeFormat.ChunkSize));
        _ = (await Engine.WriteChunkAsync(ino, (uint)(offset / VolumeFormat.ChunkSize), slice, UnixTime.NowNanos(), false, None)).Value;
        return slice;
    }

    /// <summary>The visible pieces of a chunk, as a reader would resolve them for a file of the current size.</summary>
    protected async Task<IReadOnlyList<Slice>> Visible(ulong ino, uint index)
    {
        var size = (await Attr(ino)).Size;
        var chunkLength = (uint)Math.Clamp(size - (long)index * VolumeFormat.ChunkSize, 0, VolumeFormat.ChunkSize);
        return SliceResolver.Resolve((await Engine.ReadChunkAsync(ino, index, None)).Value, chunkLength);
    }

    protected async Task<long> Refs(ulong sliceId)
    {
        await foreach (var r in Engine.ScanSliceRefsAsync(None))
            if (r.Id == sliceId)
                return r.Refs;
        return 0;
    }

    protected async Task<List<ulong>> Pending() =>
        (await Engine.PendingSliceDeletionsAsync(1000, None)).Select(p => p.Id).ToList();
}
