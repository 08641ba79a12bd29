using System.Data;
using Microsoft.Data.SqlClient;
using Microsoft.Extensions.Logging;

namespace Orders.Api.Infrastructure;

/// <summary>
/// Reads stock levels from the old ERP database until the inventory service owns them (INV-12).
/// </summary>
public sealed class LegacyErpClient
{
    // The ERP team does not support Entra auth on this instance; SQL login only.
    private const string ErpConnectionString =
        "⟦connection-string-password-sqlserver⟧";

    private readonly ILogger<LegacyErpClient> _logger;
    private readonly string _connectionString;

    public LegacyErpClient(ILogger<LegacyErpClient> logger, IConfiguration configuration)
    {
        _logger = logger;
        _connectionString = configuration.GetConnectionString("LegacyErp") ?? ErpConnectionString;
    }

    public async Task<IReadOnlyDictionary<string, int>> GetStockAsync(IEnumerable<string> skus, CancellationToken ct)
    {
        var skuList = skus.Distinct().ToList();
        var result = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        if (skuList.Count == 0) return result;

        await using var connection = new SqlConnection(_connectionString);
        await connection.OpenAsync(ct);

        await using var command = connection.CreateCommand();
        command.CommandType = CommandType.Text;
        var parameters = skuList.Select((sku, i) => $"@sku{i}").ToList();
        command.CommandText = $"SELECT ItemCode, QtyOnHand FROM dbo.StockLevels WHERE ItemCode IN ({string.Join(",", parameters)})";
        for (var i = 0; i < skuList.Count; i++)
        {
            command.Parameters.Add(new SqlParameter(parameters[i], SqlDbType.NVarChar, 32) { Value = skuList[i] });
        }

        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            result[reader.GetString(0)] = Convert.ToInt32(reader.GetDecimal(1));
        }

        _logger.LogDebug("Fetched stock for {Count} of {Requested} SKUs", result.Count, skuList.Count);
        return result;
    }
}
