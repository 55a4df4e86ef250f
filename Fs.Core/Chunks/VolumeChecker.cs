using Fs.Core.Cache;
using Fs.Core.Meta;
using Fs.Core.Objects;

namespace Fs.Core.Chunks;

/// <summary>
/// The consistency check behind <c>appliance fsck</c>: the metadata engine's own invariants, then every block that a
/// slice references (read back and decoded), then the objects in the store that no slice references.
/// </summary>
public sealed class VolumeChecker
{
    /// <summary>Inodes remembered per slice for the report; a slice shared by more files is reported with the first few.</summary>
    private const int InodesPerSlice = 8;

    private const string BlockKeyPrefix = "chunks/";

    private readonly IMetaEngine _meta;
    private readonly IObjectStore _store;
    private readonly ChunkLayout _layout;
    private readonly Func<BlockKey, CancellationToken, ValueTask<bool>> _verifyBlock;

    /// <param name="verifyBlock">Reads a block from the store, decodes it and answers whether its checksum holds.</param>
    public VolumeChecker(IMetaEngine meta, IObjectStore store, int blockSize, Func<BlockKey, CancellationToken, ValueTask<bool>> verifyBlock)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockSize);
        _meta = meta;
        _store = store;
        _layout = new ChunkLayout(blockSize);
        _verifyBlock = verifyBlock;
    }

    /// <summary>Blocks verified at once; reading blocks back is I/O bound, so a few in flight hide the store's latency.</summary>
    public int Parallelism { get; init; } = 8;

    /// <summary>Runs every phase in order, reporting progress per phase; with <paramref name="repair"/> the metadata engine fixes what it finds.</summary>
    public async Task<VolumeCheckReport> CheckAsync(bool repair, IProgress<VolumeCheckProgress>? progress, CancellationToken ct)
    {
        progress?.Report(new VolumeCheckProgress(VolumeCheckPhase.Metadata, 0, 1));
        var metaIssues = await _meta.CheckAsync(repair, ct).ConfigureAwait(false);
        progress?.Report(new VolumeCheckProgress(VolumeCheckPhase.Metadata, 1, 1));

        var (slices, chunkCount) = await ScanSlicesAsync(progress, ct).ConfigureAwait(false);
        var blockProblems = await VerifyBlocksAsync(slices, progress, ct).ConfigureAwait(false);
        var (leaked, pendingDeletion) = await FindUnreferencedObjectsAsync(slices, progress, ct).ConfigureAwait(false);

        return new VolumeCheckReport(
            metaIssues,
            chunkCount,
            slices.Count,
            slices.Values.Sum(s => (long)_layout.BlockCount(s.Size)),
            slices.Values.Sum(s => (long)s.Size),
            blockProblems,
            leaked,
            pendingDeletion);
    }

    /// <summary>
    /// The scan behind <c>appliance gc</c>: objects under chunks/ that no slice references, and the objects waiting for the
    /// background deleter, without reading any block back.
    /// </summary>
    public async Task<GarbageReport> FindGarbageAsync(IProgress<VolumeCheckProgress>? progress, CancellationToken ct)
    {
        var (slices, chunkCount) = await ScanSlicesAsync(progress, ct).ConfigureAwait(false);
        var (leaked, pendingDeletion) = await FindUnreferencedObjectsAsync(slices, progress, ct).ConfigureAwait(false);
        return new GarbageReport(chunkCount, slices.Count, leaked, pendingDeletion);
    }

    private async Task<(Dictionary<ulong, SliceUse> Slices, long Chunks)> ScanSlicesAsync(IProgress<VolumeCheckProgress>? progress, CancellationToken ct)
    {
        var slices = new Dictionary<ulong, SliceUse>();
        long chunks = 0;
        await foreach (var chunk in _meta.ScanChunksAsync(ct).ConfigureAwait(false))
        {
            chunks++;
            foreach (var slice in chunk.Slices)
            {
                if (slice.Id == 0)
                    continue;
                if (!slices.TryGetValue(slice.Id, out var use))
                    slices.Add(slice.Id, use = new SliceUse(slice.Size));
                else if (use.Size != slice.Size)
                    use.ConflictingSize = slice.Size;
                if (use.Inodes.Count < InodesPerSlice && !use.Inodes.Contains(chunk.Ino))
                    use.Inodes.Add(chunk.Ino);
            }
            if (chunks % 1024 == 0)
                progress?.Report(new VolumeCheckProgress(VolumeCheckPhase.ScanChunks, chunks, -1));
        }
        progress?.Report(new VolumeCheckProgress(VolumeCheckPhase.ScanChunks, chunks, chunks));
        return (slices, chunks);
    }

    private async Task<IReadOnlyList<BlockProblem>> VerifyBlocksAsync(Dictionary<ulong, SliceUse> slices, IProgress<VolumeCheckProgress>? progress, CancellationToken ct)
    {
        var problems = new List<BlockProblem>();
        foreach (var (id, use) in slices)
        {
            if (use.ConflictingSize is { } other)
                problems.Add(new BlockProblem(new BlockKey(id, 0, 0), BlockProblemKind.SizeMismatch, use.Inodes,
                    $"slice {id} is referenced with sizes {use.Size} and {other}"));
        }

        var total = slices.Values.Sum(s => (long)_layout.BlockCount(s.Size));
        long done = 0;
        progress?.Report(new VolumeCheckProgress(VolumeCheckPhase.VerifyBlocks, 0, total));
        var blocks = slices.SelectMany(s => _layout.Blocks(s.Key, s.Value.Size).Select(b => (Block: b, Use: s.Value)));
        var options = new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct };
        await Parallel.ForEachAsync(blocks, options, async (item, token) =>
        {
            var problem = await VerifyBlockAsync(item.Block, token).ConfigureAwait(false);
            if (problem is { } found)
            {
                lock (problems)
                    problems.Add(new BlockProblem(item.Block, found.Kind, item.Use.Inodes, found.Detail));
            }
            progress?.Report(new VolumeCheckProgress(VolumeCheckPhase.VerifyBlocks, Interlocked.Increment(ref done), total));
        }).ConfigureAwait(false);

        problems.Sort((a, b) => (a.Block.SliceId, a.Block.Index).CompareTo((b.Block.SliceId, b.Block.Index)));
        return problems;
    }

    private async Task<(BlockProblemKind Kind, string Detail)?> VerifyBlockAsync(BlockKey block, CancellationToken ct)
    {
        try
        {
            if (await _verifyBlock(block, ct).ConfigureAwait(false))
                return null;
        }
        catch (ObjectNotFoundException)
        {
            return (BlockProblemKind.Missing, "object does not exist");
        }
        catch (CorruptObjectException e)
        {
            return (BlockProblemKind.Corrupt, e.Message);
        }

        // The verifier only says "bad"; tell a missing object from a damaged one so the operator knows which to look for.
        return await _store.HeadAsync(block.ObjectKey, ct).ConfigureAwait(false) is null
            ? (BlockProblemKind.Missing, "object does not exist")
            : (BlockProblemKind.Corrupt, "content does not decode or fails its checksum");
    }

    private async Task<(IReadOnlyList<ObjectInfo> Leaked, long PendingDeletion)> FindUnreferencedObjectsAsync(
        Dictionary<ulong, SliceUse> slices, IProgress<VolumeCheckProgress>? progress, CancellationToken ct)
    {
        // Slices still known to the metadata but referenced by no chunk are waiting for the background deleter: their
        // objects are on their way out, not leaked.
        var known = new HashSet<ulong>();
        await foreach (var sliceRef in _meta.ScanSliceRefsAsync(ct).ConfigureAwait(false))
        {
            if (!slices.ContainsKey(sliceRef.Id))
                known.Add(sliceRef.Id);
        }
        // Engines move a slice whose count reached zero into their deletion queue rather than keeping a zero count.
        foreach (var pending in await _meta.PendingSliceDeletionsAsync(int.MaxValue, ct).ConfigureAwait(false))
            if (!slices.ContainsKey(pending.Id))
                known.Add(pending.Id);

        var leaked = new List<ObjectInfo>();
        long pendingDeletion = 0;
        long listed = 0;
        await foreach (var obj in _store.ListAsync(BlockKeyPrefix, ct).ConfigureAwait(false))
        {
            listed++;
            if (listed % 1024 == 0)
                progress?.Report(new VolumeCheckProgress(VolumeCheckPhase.ListObjects, listed, -1));
            if (!BlockKey.TryParse(obj.Key, out var key))
            {
                leaked.Add(obj);
                continue;
            }
            if (slices.TryGetValue(key.SliceId, out var use))
            {
                if (key.Index >= _layout.BlockCount(use.Size) || key != _layout.Block(key.SliceId, use.Size, key.Index))
                    leaked.Add(obj);
            }
            else if (known.Contains(key.SliceId))
            {
                pendingDeletion++;
            }
            else
            {
                leaked.Add(obj);
            }
        }
        progress?.Report(new VolumeCheckProgress(VolumeCheckPhase.ListObjects, listed, listed));
        return (leaked, pendingDeletion);
    }

    private sealed class SliceUse(uint size)
    {
        public uint Size { get; } = size;
        public uint? ConflictingSize { get; set; }
        public List<ulong> Inodes { get; } = [];
    }
}

/// <summary>The stages of a volume check, in the order they run.</summary>
public enum VolumeCheckPhase
{
    Metadata,
    ScanChunks,
    VerifyBlocks,
    ListObjects,
}

/// <summary>How far a volume check is: <see cref="Done"/> of <see cref="Total"/> items of a phase (Total -1 while unknown).</summary>
public readonly record struct VolumeCheckProgress(VolumeCheckPhase Phase, long Done, long Total);

/// <summary>What is wrong with a referenced block.</summary>
public enum BlockProblemKind
{
    /// <summary>No object in the store: the data of every file that references it is lost for that block.</summary>
    Missing,
    /// <summary>The object exists but does not decode or fails its checksum.</summary>
    Corrupt,
    /// <summary>Chunks disagree about a slice's size, so its block names are ambiguous.</summary>
    SizeMismatch,
}

/// <summary>A referenced block that cannot be read back, with (some of) the inodes whose data it holds.</summary>
public sealed record BlockProblem(BlockKey Block, BlockProblemKind Kind, IReadOnlyList<ulong> Inodes, string Detail);

/// <summary>The findings of a volume check.</summary>
/// <param name="LeakedObjects">Objects under chunks/ that no slice references: wasted space (a crashed writer leaves
/// the blocks it uploaded but never committed), not damage.</param>
/// <param name="PendingDeletionObjects">Objects of slices that are released and waiting for the background deleter.</param>
public sealed record VolumeCheckReport(
    IReadOnlyList<MetaIssue> MetaIssues,
    long Chunks,
    long Slices,
    long Blocks,
    long Bytes,
    IReadOnlyList<BlockProblem> BlockProblems,
    IReadOnlyList<ObjectInfo> LeakedObjects,
    long PendingDeletionObjects)
{
    /// <summary>True when no file's data or metadata is damaged (leaked objects waste space but harm nothing).</summary>
    public bool Clean => BlockProblems.Count == 0 && MetaIssues.All(i => i.Repaired);
}

/// <summary>What gc found: objects no slice references (wasted space) and objects of released slices awaiting deletion.</summary>
public sealed record GarbageReport(long Chunks, long Slices, IReadOnlyList<ObjectInfo> LeakedObjects, long PendingDeletionObjects);
