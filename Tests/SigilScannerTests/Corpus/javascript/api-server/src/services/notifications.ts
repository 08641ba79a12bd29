import twilio from "twilio";
import mailchimp from "@mailchimp/mailchimp_marketing";
import { logger } from "../logger";
import { config } from "../config";

// Twilio API key (SK...) + secret; the account SID is not sensitive.
const TWILIO_ACCOUNT_SID = "ACc811be3470816c76f80be0aba9cf505e";
const TWILIO_API_KEY = "⟦twilio-api-key⟧";
const TWILIO_API_SECRET = process.env.TWILIO_API_SECRET ?? "";
const SMS_FROM = "+15005550006";

const sms = twilio(TWILIO_API_KEY, TWILIO_API_SECRET, { accountSid: TWILIO_ACCOUNT_SID });

mailchimp.setConfig({
  apiKey: "⟦mailchimp-api-key⟧",
  server: "us14",
});

const NEWSLETTER_LIST_ID = "4f2b9c1e7a";

export interface Recipient {
  email: string;
  phone?: string;
  firstName?: string;
  locale?: string;
}

export async function sendOrderShippedSms(to: Recipient, trackingUrl: string): Promise<void> {
  if (!to.phone) return;
  try {
    await sms.messages.create({
      from: SMS_FROM,
      to: to.phone,
      body: `Your Acme order is on its way: ${trackingUrl}`,
    });
  } catch (err) {
    logger.warn({ err, to: to.phone }, "sms delivery failed");
  }
}

export async function subscribe(to: Recipient): Promise<"subscribed" | "pending"> {
  const response = await mailchimp.lists.addListMember(NEWSLETTER_LIST_ID, {
    email_address: to.email,
    status: config.NODE_ENV === "production" ? "pending" : "subscribed",
    merge_fields: { FNAME: to.firstName ?? "" },
    language: to.locale ?? "en",
  });
  return response.status as "subscribed" | "pending";
}

export function maskPhone(phone: string): string {
  return phone.replace(/\d(?=\d{4})/g, "*");
}
