using Fs.Core.Vfs;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Rpc;

/// <summary>The identity a call carries: AUTH_SYS uid/gid/groups and machine name, or AUTH_NONE.</summary>
public sealed class RpcCredentials
{
    /// <summary>AUTH_SYS allows at most 16 supplementary groups.</summary>
    public const int MaxGroups = 16;
    public const int MaxMachineName = 255;

    public static readonly RpcCredentials None = new(AuthFlavor.None, 0, 0, [], "");

    private RpcCredentials(AuthFlavor flavor, uint uid, uint gid, uint[] groups, string machineName)
    {
        Flavor = flavor;
        Uid = uid;
        Gid = gid;
        Groups = groups;
        MachineName = machineName;
        Caller = new Caller(uid, gid, groups);
    }

    public AuthFlavor Flavor { get; }

    public uint Uid { get; }

    public uint Gid { get; }

    public IReadOnlyList<uint> Groups { get; }

    /// <summary>The client's own name for itself (AUTH_SYS machinename); empty for AUTH_NONE.</summary>
    public string MachineName { get; }

    /// <summary>The credentials as the file system's caller, before any export squashing.</summary>
    public Caller Caller { get; }

    /// <summary>Parses an authsys_parms body; throws <see cref="XdrException"/> when it is malformed.</summary>
    public static RpcCredentials ParseSys(ReadOnlyMemory<byte> body)
    {
        var reader = new XdrReader(body);
        reader.ReadUInt32(); // stamp: an arbitrary client id with no meaning to the server
        var machine = reader.ReadString(MaxMachineName);
        var uid = reader.ReadUInt32();
        var gid = reader.ReadUInt32();
        var count = reader.ReadUInt32();
        if (count > MaxGroups)
            throw new XdrException($"AUTH_SYS with {count} groups (at most {MaxGroups})");
        var groups = new uint[count];
        for (var i = 0; i < groups.Length; i++)
            groups[i] = reader.ReadUInt32();
        if (reader.Remaining != 0)
            throw new XdrException("AUTH_SYS body has trailing bytes");
        return new RpcCredentials(AuthFlavor.Sys, uid, gid, groups, machine);
    }
}
