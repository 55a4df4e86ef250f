namespace Protocols.Nfs.Portmap;

/// <summary>IP protocol numbers as the portmapper names transports.</summary>
public static class PortmapProtocol
{
    public const uint Tcp = 6;
    public const uint Udp = 17;
}

/// <summary>One registration: program, version, transport and port (RFC 1833 struct mapping).</summary>
public readonly record struct PortMapping(uint Program, uint Version, uint Protocol, uint Port);

/// <summary>The portmapper's table of which program listens on which port; safe for concurrent use.</summary>
public sealed class PortmapRegistry
{
    private readonly Lock _lock = new();
    private readonly List<PortMapping> _mappings = [];

    /// <summary>Adds a mapping; false when (program, version, protocol) is already mapped, as RFC 1833 SET requires.</summary>
    public bool Set(PortMapping mapping)
    {
        lock (_lock)
        {
            foreach (var m in _mappings)
                if (m.Program == mapping.Program && m.Version == mapping.Version && m.Protocol == mapping.Protocol)
                    return false;
            _mappings.Add(mapping);
            return true;
        }
    }

    /// <summary>Removes every mapping of (program, version), whatever the transport; false when there was none.</summary>
    public bool Unset(uint program, uint version)
    {
        lock (_lock)
            return _mappings.RemoveAll(m => m.Program == program && m.Version == version) > 0;
    }

    /// <summary>The port of (program, version, protocol), or 0 when it is not registered.</summary>
    public uint GetPort(uint program, uint version, uint protocol)
    {
        lock (_lock)
        {
            foreach (var m in _mappings)
                if (m.Program == program && m.Version == version && m.Protocol == protocol)
                    return m.Port;
            return 0;
        }
    }

    public IReadOnlyList<PortMapping> Dump()
    {
        lock (_lock)
            return [.. _mappings];
    }
}
