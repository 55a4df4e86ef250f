namespace Protocols.Fake.Rpc;

/// <summary>Stands in for a door's program object, in a Protocols.* namespace as the real doors are.</summary>
internal sealed class FakeProgram;
