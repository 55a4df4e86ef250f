namespace Protocols.Fuse.Tests;

public class CallerResolverTests
{
    [Fact]
    public void Groups_line_is_parsed_whatever_the_spacing() =>
        Assert.Equal([4u, 24u, 1000u], CallerResolver.ParseGroups("\t4 24 1000 "));

    [Fact]
    public void Supplementary_groups_come_from_the_process_status()
    {
        var proc = Directory.CreateTempSubdirectory("fuse-proc-");
        try
        {
            Directory.CreateDirectory(Path.Combine(proc.FullName, "4321"));
            File.WriteAllText(Path.Combine(proc.FullName, "4321", "status"), "Name:\tcat\nUid:\t1000\t1000\t1000\t1000\nGroups:\t27 100 \nVmPeak:\t1 kB\n");
            var resolver = new CallerResolver(proc.FullName);

            var caller = resolver.Resolve(1000, 1000, 4321);

            Assert.Equal((1000u, 1000u), (caller.Uid, caller.Gid));
            Assert.True(caller.InGroup(27));
            Assert.True(caller.InGroup(100));
            Assert.False(caller.InGroup(0));
        }
        finally
        {
            proc.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_vanished_process_has_no_supplementary_groups() =>
        Assert.Empty(new CallerResolver().Resolve(1000, 1000, int.MaxValue - 1).Groups);

    [Fact]
    public void Root_is_root_without_reading_proc() =>
        Assert.True(new CallerResolver("/nonexistent").Resolve(0, 0, 1).IsRoot);
}
