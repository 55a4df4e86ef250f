using System.Collections.Concurrent;

namespace Fs.Core.Objects;

/// <summary>
/// A few threads of the process's own for transfers that block until the disk is done: direct reads and writes of whole
/// objects. On thread-pool threads (where they ran before) each such transfer parked a worker for the length of a disk
/// request; the pool answered the read-ahead's bursts of them by waking and adding workers, which then spun looking for
/// work (in profiles of a cold NFS copy out, a quarter to a third of the appliance's samples were workers spinning in
/// sched_yield). Here a burst queues instead; the disk gains nothing from more requests at once than there are threads.
/// </summary>
internal sealed class BlockingIoThreads
{
    /// <summary>The process's transfer threads: at least four, one per processor on larger machines.</summary>
    public static readonly BlockingIoThreads Shared = new(Math.Max(4, Environment.ProcessorCount));

    private readonly BlockingCollection<Work> _queue = [];

    private BlockingIoThreads(int threads)
    {
        for (var i = 0; i < threads; i++)
            new Thread(Run) { IsBackground = true, Name = $"block I/O {i}" }.Start();
    }

    /// <summary>Runs <paramref name="transfer"/> on one of the threads; its outcome or exception completes the task.</summary>
    /// <remarks>A transfer still queued when <paramref name="ct"/> is cancelled does not run; one that started completes.</remarks>
    public Task<T> RunAsync<T>(Func<T> transfer, CancellationToken ct)
    {
        if (ct.IsCancellationRequested)
            return Task.FromCanceled<T>(ct);
        var work = new Work<T>(transfer, ct);
        _queue.Add(work, CancellationToken.None);
        return work.Task;
    }

    private void Run()
    {
        foreach (var work in _queue.GetConsumingEnumerable())
            work.Execute();
    }

    private abstract class Work
    {
        public abstract void Execute();
    }

    private sealed class Work<T>(Func<T> transfer, CancellationToken ct) : Work
    {
        // The caller's continuation runs on the thread pool, never on a transfer thread.
        private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<T> Task => _done.Task;

        public override void Execute()
        {
            if (ct.IsCancellationRequested)
            {
                _done.TrySetCanceled(ct);
                return;
            }
            try
            {
                _done.TrySetResult(transfer());
            }
            catch (Exception e)
            {
                _done.TrySetException(e);
            }
        }
    }
}
