using Fs.Core.Objects;

namespace Fs.Core.Tests.Objects;

public class BlockingIoThreadsTests
{
    [Fact]
    public async Task A_transfer_runs_on_a_transfer_thread_not_on_the_pool()
    {
        var (pooled, name) = await BlockingIoThreads.Shared.RunAsync(
            () => (Thread.CurrentThread.IsThreadPoolThread, Thread.CurrentThread.Name), CancellationToken.None);
        Assert.False(pooled);
        Assert.StartsWith("block I/O", name);
    }

    [Fact]
    public async Task A_transfer_that_throws_fails_its_task_and_the_threads_go_on()
    {
        var failed = BlockingIoThreads.Shared.RunAsync<int>(() => throw new IOException("disk gone"), CancellationToken.None);
        Assert.Equal("disk gone", (await Assert.ThrowsAsync<IOException>(() => failed)).Message);
        Assert.Equal(42, await BlockingIoThreads.Shared.RunAsync(() => 42, CancellationToken.None));
    }

    [Fact]
    public async Task A_transfer_still_queued_when_its_caller_gives_up_does_not_run()
    {
        // Occupy every transfer thread, so the next transfer waits in the queue.
        using var gate = new ManualResetEventSlim();
        var started = new CountdownEvent(Math.Max(4, Environment.ProcessorCount));
        var blockers = Enumerable.Range(0, started.InitialCount).Select(_ => BlockingIoThreads.Shared.RunAsync(() =>
        {
            started.Signal();
            gate.Wait();
            return true;
        }, CancellationToken.None)).ToList();
        Assert.True(started.Wait(TimeSpan.FromSeconds(10)));

        using var cancel = new CancellationTokenSource();
        var ran = false;
        var queued = BlockingIoThreads.Shared.RunAsync(() => ran = true, cancel.Token);
        await cancel.CancelAsync();
        gate.Set();
        await Task.WhenAll(blockers);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued);
        Assert.False(ran);
    }
}
