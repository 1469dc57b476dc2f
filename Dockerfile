FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=smms.settings.production
WORKDIR /app
COPY pyproject.toml requirements.lock README.md ./
COPY . .
RUN pip install --no-cache-dir -c requirements.lock . \
    && python scripts/compile_messages.py \
    && SECRET_KEY=build-only-$(python -c 'print("x"*60)') DATABASE_URL=sqlite:////tmp/build.db \
       SMMS_ENCRYPTION_KEYS=$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())') \
       ALLOWED_HOSTS=build python manage.py collectstatic --noinput
# var/media exists before the media volume mounts there, so the volume starts owned by smms.
RUN useradd --create-home smms && mkdir -p /app/var/media && chown -R smms /app
USER smms
EXPOSE 8000
