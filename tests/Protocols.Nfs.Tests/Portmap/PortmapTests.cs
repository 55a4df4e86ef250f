using System.Net;
using Protocols.Nfs.Nfs3;
using Protocols.Nfs.Portmap;
using Protocols.Nfs.Rpc;

namespace Protocols.Nfs.Tests.Portmap;

public sealed class PortmapTests : NfsServerTest
{
    protected override NfsServerOptions ServerOptions => base.ServerOptions with { Portmap = true, PortmapPort = 0 };

    [Fact]
    public async Task Getport_over_tcp_and_udp_finds_nfs_mount_and_nlm()
    {
        Assert.True(Server.PortmapRunning);
        await using var client = await RpcTestClient.ConnectAsync(Server.PortmapPort);
        foreach (var (program, version) in new[] { (Nfs3Program.ProgramNumber, 3u), (100005u, 3u), (100021u, 4u), (100024u, 1u) })
        {
            var reply = await client.CallAsync(PortmapProgram.ProgramNumber, 2, 3, w =>
            {
                w.WriteUInt32(program);
                w.WriteUInt32(version);
                w.WriteUInt32(PortmapProtocol.Tcp);
                w.WriteUInt32(0);
            });
            Assert.Equal((uint)Server.Port, reply.Reader().ReadUInt32());
        }
        var udp = await RpcUdpClient.CallAsync(new IPEndPoint(IPAddress.Loopback, Server.PortmapPort), PortmapProgram.ProgramNumber, 2, 3, w =>
        {
            w.WriteUInt32(100005);
            w.WriteUInt32(3);
            w.WriteUInt32(PortmapProtocol.Udp);
            w.WriteUInt32(0);
        }, TimeSpan.FromSeconds(2), 3, CancellationToken.None);
        Assert.NotNull(udp);
        Assert.Equal(Server.Port, (udp[2] << 8) | udp[3]);
    }

    [Fact]
    public async Task Dump_lists_the_registrations_and_set_from_loopback_adds_one()
    {
        await using var client = await RpcTestClient.ConnectAsync(Server.PortmapPort);
        var set = await client.CallAsync(PortmapProgram.ProgramNumber, 2, 1, w =>
        {
            w.WriteUInt32(300_000);
            w.WriteUInt32(1);
            w.WriteUInt32(PortmapProtocol.Tcp);
            w.WriteUInt32(4444);
        });
        Assert.True(set.Reader().ReadBool());
        var dump = (await client.CallAsync(PortmapProgram.ProgramNumber, 2, 4)).Reader();
        var programs = new List<(uint, uint)>();
        while (dump.ReadBool())
        {
            var prog = dump.ReadUInt32();
            dump.ReadUInt32();
            dump.ReadUInt32();
            programs.Add((prog, dump.ReadUInt32()));
        }
        Assert.Contains((300_000u, 4444u), programs);
        Assert.Contains((Nfs3Program.ProgramNumber, (uint)Server.Port), programs);
    }
}

public sealed class TakenPortmapPortTests : NfsServerTest
{
    private readonly System.Net.Sockets.TcpListener _squatter = new(IPAddress.Loopback, 0);

    protected override NfsServerOptions ServerOptions
    {
        get
        {
            _squatter.Start();
            return base.ServerOptions with { Portmap = true, PortmapPort = ((IPEndPoint)_squatter.LocalEndpoint).Port };
        }
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _squatter.Stop();
    }

    [Fact]
    public async Task When_the_portmapper_port_is_taken_the_server_still_serves_nfs_and_mount()
    {
        Assert.False(Server.PortmapRunning);
        var client = await ConnectAsync();
        var root = await MountAsync(client);
        Assert.Equal(Nfs3Status.Ok, (await GetAttrAsync(client, root)).Status);
    }
}
