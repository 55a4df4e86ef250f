using System.Text.Json;
using System.Text.Json.Serialization;

namespace Fs.Core.Meta.Dump;

/// <summary>The JSON form of dump records: camelCase, enums as names, a slice as a compact [id, size, offset, length, pos] array.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true,
    Converters = [typeof(SliceArrayConverter)])]
[JsonSerializable(typeof(DumpRecord))]
internal sealed partial class DumpJson : JsonSerializerContext;

/// <summary>Writes a slice as a five-number array: chunk lists are most of a dump, and names on every field would double it.</summary>
internal sealed class SliceArrayConverter : JsonConverter<Slice>
{
    public override Slice Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new JsonException("a slice is an array [id, size, offset, length, pos]");
        Span<ulong> values = stackalloc ulong[5];
        for (var i = 0; i < values.Length; i++)
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.Number)
                throw new JsonException("a slice is an array of five numbers [id, size, offset, length, pos]");
            values[i] = reader.GetUInt64();
        }
        if (!reader.Read() || reader.TokenType != JsonTokenType.EndArray)
            throw new JsonException("a slice is an array of five numbers [id, size, offset, length, pos]");
        return new Slice(values[0], checked((uint)values[1]), checked((uint)values[2]), checked((uint)values[3]), checked((uint)values[4]));
    }

    public override void Write(Utf8JsonWriter writer, Slice value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        writer.WriteNumberValue(value.Id);
        writer.WriteNumberValue(value.Size);
        writer.WriteNumberValue(value.Offset);
        writer.WriteNumberValue(value.Length);
        writer.WriteNumberValue(value.Pos);
        writer.WriteEndArray();
    }
}
