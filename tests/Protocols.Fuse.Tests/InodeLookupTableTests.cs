namespace Protocols.Fuse.Tests;

public class InodeLookupTableTests
{
    [Fact]
    public void Lookup_counts_rise_with_each_entry_and_fall_with_forget()
    {
        var table = new InodeLookupTable();
        table.Remember(5);
        table.Remember(5);
        table.Remember(5);
        Assert.Equal(3, table.LookupCount(5));

        table.Forget(5, 2);
        Assert.True(table.Knows(5));
        Assert.Equal(1, table.LookupCount(5));

        table.Forget(5, 1);
        Assert.False(table.Knows(5));
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void The_root_is_always_known_and_never_counted()
    {
        var table = new InodeLookupTable();
        table.Remember(1);
        Assert.True(table.Knows(1));
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void Concurrent_lookups_and_forgets_balance_exactly()
    {
        var table = new InodeLookupTable();
        Parallel.For(0, 10_000, i => table.Remember((ulong)(i % 7) + 2));
        Parallel.For(0, 10_000, i => table.Forget((ulong)(i % 7) + 2, 1));
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void An_oversized_forget_drops_the_inode()
    {
        var table = new InodeLookupTable();
        table.Remember(9);
        table.Forget(9, ulong.MaxValue);
        Assert.False(table.Knows(9));
    }
}
