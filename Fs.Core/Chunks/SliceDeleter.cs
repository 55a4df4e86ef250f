using Fs.Core.Cache;
using Fs.Core.Meta;
using Microsoft.Extensions.Logging;

namespace Fs.Core.Chunks;

/// <summary>Deletes from the object store the blocks of slices no file references any more, in the background.</summary>
internal sealed class SliceDeleter : IAsyncDisposable
{
    private readonly IMetaEngine _meta;
    private readonly IBlockStore _blocks;
    private readonly ChunkLayout _layout;
    private readonly ILogger _logger;
    private readonly TimeSpan _interval;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly Task _worker;

    public SliceDeleter(IMetaEngine meta, IBlockStore blocks, ChunkLayout layout, TimeSpan interval, ILogger logger)
    {
        _meta = meta;
        _blocks = blocks;
        _layout = layout;
        _interval = interval;
        _logger = logger;
        _worker = Task.Run(RunAsync);
    }

    public long DeletedSlices { get; private set; }

    /// <summary>Runs a deletion pass soon instead of at the next interval.</summary>
    public void Wake()
    {
        if (_wake.CurrentCount == 0)
        {
            try
            {
                _wake.Release();
            }
            catch (SemaphoreFullException)
            {
            }
        }
    }

    /// <summary>Deletes every pending slice now; returns how many were deleted.</summary>
    public async Task<int> DeletePendingAsync(CancellationToken ct)
    {
        var deleted = 0;
        while (true)
        {
            var batch = await _meta.PendingSliceDeletionsAsync(256, ct).ConfigureAwait(false);
            if (batch.Count == 0)
                return deleted;
            // The commit that dropped these slices must be durable before their blocks go: otherwise a power failure
            // could bring back metadata that points at deleted blocks.
            await _meta.SyncAsync(ct).ConfigureAwait(false);
            foreach (var slice in batch)
            {
                foreach (var key in _layout.Blocks(slice.Id, slice.Size))
                    await _blocks.DeleteAsync(key, ct).ConfigureAwait(false);
                await _meta.ConfirmSliceDeletedAsync(slice.Id, slice.Size, ct).ConfigureAwait(false);
                deleted++;
                DeletedSlices++;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _worker.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await _wake.WaitAsync(_interval, ct).ConfigureAwait(false);
                await DeletePendingAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                _logger.LogWarning(e, "deleting unreferenced slices failed; retrying in {Interval}", _interval);
            }
        }
    }
}
