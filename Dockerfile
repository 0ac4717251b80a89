# Tachiai Sign — production image (`npm start`: the web server and, as its own process, the job worker; SMTP_URL required).
FROM node:20-bookworm

ENV NEXT_TELEMETRY_DISABLED=1 \
    CHECKPOINT_DISABLE=1 \
    PRISMA_HIDE_UPDATE_MESSAGE=1

# Tools the product shells out to or verifies with (pdfsig, qpdf, fonts for the certificate).
RUN apt-get update \
 && apt-get install -y --no-install-recommends poppler-utils qpdf fonts-ipaexfont fonts-noto-cjk openssl ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
COPY prisma ./prisma
COPY prisma.config.ts ./
COPY scripts ./scripts
# postinstall runs `prisma generate` (needs prisma/ and scripts/ above).
RUN npm ci --no-audit --no-fund

COPY . .
RUN npm run build

ENV NODE_ENV=production \
    PORT=3000 \
    DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 3000

# Applies migrations, seeds the demo organisation (admin password printed once in the logs),
# starts the Next.js server and the job worker (a child process).
CMD ["npm", "start"]
