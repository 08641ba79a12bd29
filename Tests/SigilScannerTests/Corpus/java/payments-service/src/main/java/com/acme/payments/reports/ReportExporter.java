package com.acme.payments.reports;

import com.azure.storage.blob.BlobContainerClient;
import com.azure.storage.blob.BlobContainerClientBuilder;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

@Component
public class ReportExporter {

    private static final Logger log = LoggerFactory.getLogger(ReportExporter.class);
    private static final DateTimeFormatter DAY = DateTimeFormatter.ISO_LOCAL_DATE;

    // Finance asked for a fixed URL they can paste into Power BI; valid until the end of the year.
    private static final String FINANCE_SHARE_URL =
            "⟦azure-sas-token⟧";

    private final BlobContainerClient container;
    private final SettlementRepository settlements;

    public ReportExporter(@Value("${reports.export.container-url}") String containerUrl,
                          SettlementRepository settlements) {
        this.container = new BlobContainerClientBuilder().endpoint(containerUrl).buildClient();
        this.settlements = settlements;
    }

    @Scheduled(cron = "${reports.export.schedule}")
    public void exportYesterday() {
        LocalDate day = LocalDate.now().minusDays(1);
        List<Settlement> rows = settlements.findBySettledOn(day);
        String csv = rows.stream()
                .map(s -> String.join(",", s.id(), s.merchantId(), s.amount().toPlainString(), s.currency()))
                .collect(Collectors.joining("\n", "id,merchant_id,amount,currency\n", "\n"));
        byte[] bytes = csv.getBytes(StandardCharsets.UTF_8);
        String name = "settlements/" + DAY.format(day) + ".csv";
        container.getBlobClient(name).upload(new ByteArrayInputStream(bytes), bytes.length, true);
        log.info("exported {} settlements to {}", rows.size(), name);
    }

    public String financeShareUrl() {
        return FINANCE_SHARE_URL;
    }
}
