using Fs.Core.Locks;
using Fs.Core.Vfs;
using Xunit.Abstractions;

namespace Fs.Core.Tests.Locks;

public sealed class LockTableTests(ITestOutputHelper output)
{
    private const int FileBytes = 48;
    private const long Now = 1_000_000;

    private static readonly LockOwner[] Owners =
    [
        new(1, LockDoor.Fuse, "local", 1),
        new(1, LockDoor.Fuse, "local", 2),
        new(2, LockDoor.Nfs, "10.0.0.7", 1),
    ];

    /// <summary>
    /// Random POSIX lock and unlock requests of three owners, applied both to the lock list and to a per-byte model
    /// (the last cell stands for every byte past the file's known size, reached only by to-end-of-file ranges). After every
    /// step the two must agree on who holds which byte how, the list must be canonical (each owner's ranges disjoint, ranges
    /// of one mode never touching), and GETLK must report a lock that really conflicts exactly when the model has one.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void PosixRangesMatchPerByteModel(int run)
    {
        var seed = Environment.GetEnvironmentVariable("LOCKS_SEED") is { } fixedSeed ? int.Parse(fixedSeed) : Random.Shared.Next() + run;
        output.WriteLine($"seed {seed} (set LOCKS_SEED to replay)");
        var random = new Random(seed);
        var model = new LockMode?[Owners.Length, FileBytes + 1];
        IReadOnlyList<LockRecord> locks = [];

        for (var step = 0; step < 3000; step++)
        {
            var who = random.Next(Owners.Length);
            var owner = Owners[who];
            var start = (long)random.Next(FileBytes);
            var end = random.Next(6) == 0 ? long.MaxValue : random.Next((int)start + 1, FileBytes + 1);
            var last = end == long.MaxValue ? FileBytes : end - 1;
            var context = $"seed {seed} step {step}: owner {who} [{start}, {(end == long.MaxValue ? "EOF" : end)})";

            if (random.Next(4) == 0)
            {
                var (next, errno) = LockTable.UnlockPosix(locks, owner, start, end, Now);
                Assert.Equal(Errno.OK, errno);
                locks = next ?? locks;
                for (var b = start; b <= last; b++)
                    model[who, b] = null;
            }
            else
            {
                var mode = random.Next(2) == 0 ? LockMode.Shared : LockMode.Exclusive;
                var wanted = new LockRecord(LockKind.Posix, mode, owner, start, end, Pid: step);
                var modelConflict = false;
                for (var other = 0; other < Owners.Length; other++)
                {
                    for (var b = start; b <= last && other != who; b++)
                        modelConflict |= model[other, b] is { } held && (held == LockMode.Exclusive || mode == LockMode.Exclusive);
                }

                var reported = LockTable.FindConflicts(locks, wanted, Now);
                Assert.True(modelConflict == (reported.Count > 0), context);
                if (reported.Count > 0)
                {
                    var first = reported[0];
                    Assert.True(first.Owner != owner && first.Start < end && start < first.End, context);
                    Assert.True(first.Mode == LockMode.Exclusive || mode == LockMode.Exclusive, context);
                    Assert.Equal(reported.Min(r => r.Start), first.Start);
                }

                var (next, conflicts) = LockTable.SetPosix(locks, wanted, Now);
                Assert.Equal(reported.Count, conflicts.Count);
                if (conflicts.Count == 0)
                {
                    locks = next ?? locks;
                    for (var b = start; b <= last; b++)
                        model[who, b] = mode;
                }
                else
                {
                    Assert.Null(next);
                }
            }

            AssertMatchesModel(locks, model, context);
        }
    }

    [Fact]
    public void SettingPartOfARangeChangesOnlyThatPart()
    {
        var owner = Owners[0];
        IReadOnlyList<LockRecord> locks = [];
        locks = LockTable.SetPosix(locks, new LockRecord(LockKind.Posix, LockMode.Shared, owner, 0, 100), Now).Locks!;
        locks = LockTable.SetPosix(locks, new LockRecord(LockKind.Posix, LockMode.Exclusive, owner, 40, 60), Now).Locks!;

        Assert.Equal(
            [(0L, 40L, LockMode.Shared), (40L, 60L, LockMode.Exclusive), (60L, 100L, LockMode.Shared)],
            locks.Select(l => (l.Start, l.End, l.Mode)));

        locks = LockTable.SetPosix(locks, new LockRecord(LockKind.Posix, LockMode.Shared, owner, 40, 60), Now).Locks!;
        Assert.Equal([(0L, 100L, LockMode.Shared)], locks.Select(l => (l.Start, l.End, l.Mode)));

        locks = LockTable.UnlockPosix(locks, owner, 10, 20, Now).Locks!;
        Assert.Equal([(0L, 10L), (20L, 100L)], locks.Select(l => (l.Start, l.End)));
    }

    [Fact]
    public void RequestsThatChangeNothingWriteNothing()
    {
        var owner = Owners[0];
        IReadOnlyList<LockRecord> locks = [new LockRecord(LockKind.Posix, LockMode.Exclusive, owner, 0, long.MaxValue)];

        Assert.Null(LockTable.SetPosix(locks, new LockRecord(LockKind.Posix, LockMode.Exclusive, owner, 5, 10), Now).Locks);
        Assert.Null(LockTable.UnlockPosix(locks, Owners[1], 0, long.MaxValue, Now).Locks);
        Assert.Null(LockTable.Unflock(locks, owner, Now).Locks);
    }

    [Fact]
    public void ExpiredWebDavLocksAreIgnoredAndDroppedWhenTheListIsRewritten()
    {
        var expired = new LockRecord(LockKind.WebDav, LockMode.Exclusive, Owners[2], Token: "opaquelocktoken:a", ExpiresUnixMs: Now - 1);
        IReadOnlyList<LockRecord> locks = [expired];

        var (next, conflicts) = LockTable.SetPosix(locks, new LockRecord(LockKind.Posix, LockMode.Exclusive, Owners[0], 0, 10), Now);

        Assert.Empty(conflicts);
        Assert.DoesNotContain(expired, next!);
        Assert.Equal(Errno.ENOLCK, LockTable.UnlockWebDav(locks, "opaquelocktoken:a", Now).Result);
    }

    private static void AssertMatchesModel(IReadOnlyList<LockRecord> locks, LockMode?[,] model, string context)
    {
        for (var who = 0; who < Owners.Length; who++)
        {
            var mine = locks.Where(l => l.Owner == Owners[who]).OrderBy(l => l.Start).ToList();
            Assert.All(mine, l => Assert.Equal(LockKind.Posix, l.Kind));
            for (var i = 1; i < mine.Count; i++)
            {
                Assert.True(mine[i - 1].End <= mine[i].Start, $"{context}: owner {who} has overlapping ranges");
                Assert.False(mine[i - 1].End == mine[i].Start && mine[i - 1].Mode == mine[i].Mode, $"{context}: owner {who} has unmerged ranges");
            }

            var held = new LockMode?[FileBytes + 1];
            foreach (var range in mine)
            {
                var last = range.End == long.MaxValue ? FileBytes : range.End - 1;
                Assert.True(last <= FileBytes, context);
                for (var b = range.Start; b <= last; b++)
                    held[b] = range.Mode;
            }
            for (var b = 0; b <= FileBytes; b++)
                Assert.True(model[who, b] == held[b], $"{context}: owner {who} byte {b}: model {model[who, b]}, locks {held[b]}");
        }
    }
}
