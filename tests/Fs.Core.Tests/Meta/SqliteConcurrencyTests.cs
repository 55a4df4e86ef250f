namespace Fs.Core.Tests.Meta;

public class SqliteConcurrencyTests : SqliteEngineTest
{
    [Fact]
    public async Task Readers_run_alongside_a_writer_and_see_every_committed_create()
    {
        var dir = await Mkdir(RootIno, "d");
        using var stop = new CancellationTokenSource();
        var created = new System.Collections.Concurrent.ConcurrentQueue<(string Name, ulong Ino)>();
        var readers = Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
        {
            var checks = 0;
            while (true)
            {
                var last = stop.IsCancellationRequested; // one more full pass after the writers are done
                foreach (var (name, ino) in created)
                {
                    Assert.Equal(ino, (await Engine.LookupAsync(Alice, dir.Ino, name, None)).Value.Ino);
                    checks++;
                }
                if (last)
                    return checks;
                await Task.Yield();
            }
        })).ToArray();
        var writers = Enumerable.Range(0, 3).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 150; i++)
            {
                var attr = await CreateFile(dir.Ino, $"w{w}-{i}");
                created.Enqueue(($"w{w}-{i}", attr.Ino));
            }
        })).ToArray();
        await Task.WhenAll(writers);
        stop.Cancel();
        Assert.All(await Task.WhenAll(readers), checks => Assert.True(checks >= 450));
        Assert.Equal(450, (await Names(dir.Ino)).Count);
        Assert.Equal(450, created.Select(c => c.Ino).Distinct().Count());
        Assert.Empty(await Engine.CheckAsync(false, None));
    }
}
